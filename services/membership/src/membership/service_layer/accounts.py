"""Starting, editing and discarding an account ("Registrar Entidad" / "Registrar Proveedor").

A new draft needs two things no single account decides: its NIT (one live account per NIT, a
unique claim) and a draft slot (a user holds at most ``MAX_DRAFTS_PER_USER`` drafts: the slot is
unique among accounts, so two creations at once cannot both take the last one). Everything
else is decided on the account itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from secop_runtime.aggregates import Duplicate, Stale
from secop_runtime.auth import Principal
from secop_runtime.errors import Conflict, Contended, Invalid

from membership.adapters.nit_claims import NitTaken
from membership.domain.accounts import ACTIVE, DRAFT, Account, free_draft_slots
from membership.domain.documents import SUPPORT_AGENT
from membership.domain.errors import TooManyDrafts
from membership.service_layer.common import (
    account_or_404,
    missing,
    now,
    require_admin,
    require_known,
)
from membership.service_layer.forms import normalise

if TYPE_CHECKING:
    from collections.abc import Callable

    from membership.service_layer.context import Context

log = logging.getLogger(__name__)
#: The service desk's case numbers (support's format).
CASE_NUMBER = re.compile(r"CCE-\d{4}-\d{6,9}")


async def create_account(ctx: Context, principal: Principal, body: dict[str, Any]) -> Account:
    """A confirmed user starts a draft account and becomes its administrator."""
    await require_known(ctx, principal)
    kind, fields = body["kind"], {k: v for k, v in body.items() if k != "kind"}
    form = await normalise(ctx, kind, fields)
    user_id = str(principal.user_id)
    mine = {a.id: a for a in await ctx.queries.of_member(user_id) if a.accepted(user_id)}
    drafts = [a for a in mine.values() if a.status == DRAFT]
    slots = free_draft_slots(user_id, drafts, ctx.settings.max_drafts_per_user)
    if not slots:  # each draft holds a NIT: nobody may hold many
        raise _too_many(len(drafts))
    account = Account.start(str(uuid.uuid4()), kind, form, user_id, now())
    try:
        await ctx.nit_claims.claim(account.nit, account.id)
    except NitTaken as exc:
        raise await _nit_taken(ctx, account.nit, exc.account_id, mine) from None
    try:
        await _add_in_a_free_slot(ctx, account, slots)
    except BaseException:
        await ctx.nit_claims.release(account.nit, account.id)
        raise
    return account


async def _add_in_a_free_slot(ctx: Context, account: Account, slots: list[str]) -> None:
    for slot in slots:  # another creation of the same user may take one first
        account.draft_slot = slot
        try:
            await ctx.accounts.add(account)
            return
        except Duplicate:
            continue
    raise _too_many(ctx.settings.max_drafts_per_user)


def _too_many(drafts: int) -> TooManyDrafts:
    return TooManyDrafts(
        f"you already have {drafts} draft accounts: finish or discard one first", field="nit"
    )


async def _nit_taken(ctx: Context, nit: str, holder_id: str, mine: dict[str, Any]) -> Conflict:
    """Only an active holder (the public search shows it) or one of the caller's own is named:
    a draft or an account under review is nobody else's business."""
    holder = mine.get(holder_id) or (await ctx.accounts.get(holder_id) if holder_id else None)
    named = holder is not None and (holder.status == ACTIVE or holder.id in mine)
    return Conflict(
        f"the NIT {nit} already has an account",
        field="nit",
        account_id=holder_id if named else None,
    )


async def edit_account(
    ctx: Context, principal: Principal, account_id: str, fields: dict[str, Any]
) -> Account:
    """The administrator edits a draft (or one sent back for changes): the form is never lost."""
    await require_admin(ctx, account_id, principal)
    if "nit" in fields or "kind" in fields:
        raise Invalid("the NIT and kind identify the account: start a new one instead", field="nit")

    async def edit(account: Account) -> list[Any]:
        account.check_editable()
        changes = await normalise(ctx, account.kind, fields, account.model_dump())
        account.edit(changes, now())
        return []

    return await ctx.accounts.change(account_id, edit, missing(account_id))


async def discard_draft(
    ctx: Context, principal: Principal, account_id: str, case_number: str | None = None
) -> None:
    """The administrator discards a draft: its documents, roster and NIT go. A service desk
    agent may too, on a case (someone else's draft holds the NIT a requester needs): the case
    number is logged with the agent."""
    if principal.has_role(SUPPORT_AGENT):
        if not case_number or not CASE_NUMBER.fullmatch(case_number):
            raise Invalid(
                "an agent releases a NIT on a case: give its number (CCE-YYYY-NNNNNN)",
                field="case",
            )
        log.info(
            "an agent released a draft's NIT",
            extra={
                "account_id": account_id,
                "agent_id": str(principal.user_id),
                "case": case_number,
            },
        )
    else:
        await require_admin(ctx, account_id, principal)

    def still_a_draft(account: Account) -> bool:
        if account.status != DRAFT:
            raise Conflict(f"the account is {account.status}: only a draft is discarded")
        return True

    await account_or_404(ctx, account_id)
    await _remove_draft(ctx, account_id, still_a_draft)


async def expire_drafts(ctx: Context, at: datetime) -> int:
    """Drafts nobody touched (edit or upload) for ``DRAFT_TTL_DAYS`` go, releasing their NIT:
    a draft must not hold a NIT for good."""
    cutoff = at - timedelta(days=ctx.settings.draft_ttl_days)

    def untouched(account: Account) -> bool:
        return account.status == DRAFT and account.updated_at < cutoff

    expired = 0
    for stale in await ctx.queries.stale_drafts(cutoff):
        with contextlib.suppress(Contended):  # in use right now: the next pass looks again
            expired += await _remove_draft(ctx, stale.id, untouched)
    return expired


async def _remove_draft(ctx: Context, account_id: str, still: Callable[[Account], bool]) -> bool:
    """Delete the account if ``still`` holds on its current state (an upload or submission
    meanwhile makes the delete stale: look again; so do events the relay has not published
    yet, which a delete would lose), then its files and its NIT claim."""
    for attempt in range(10):
        if attempt:
            await asyncio.sleep(0.02 * attempt)
        account = await ctx.accounts.get(account_id)
        if account is None or not still(account):
            return False
        try:
            await ctx.accounts.remove(account)
        except Stale:
            continue
        for document in account.documents.values():
            await ctx.files.delete_file(document.document_id)
        await ctx.nit_claims.release(account.nit, account.id)
        return True
    raise Contended("it was being changed by someone else at the same time: try again")
