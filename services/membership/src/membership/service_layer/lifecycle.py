"""An account's lifecycle: "Finalizar", then the service desk's decisions (from support).

Each is one change of the account aggregate: loaded, decided by the account, saved with its
event only if nobody changed the account meanwhile (else decided again on the newer state).
Decisions that no longer apply (a redelivery, a second decision) change nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from secop_contracts import Event
from secop_contracts.support import AccountActivationDecided, MixedProfileDecided
from secop_runtime.auth import Principal
from secop_runtime.errors import NotFound

from membership.adapters.users import person_ref
from membership.domain.accounts import REJECTED, Account
from membership.service_layer.common import audience, missing, now, person_refs, require_admin

if TYPE_CHECKING:
    from membership.service_layer.context import Context

log = logging.getLogger(__name__)


async def submit_account(ctx: Context, principal: Principal, account_id: str) -> Account:
    """ "Finalizar": a complete supplier becomes active, a complete entity waits for the desk."""
    await require_admin(ctx, account_id, principal)
    submitter = person_ref(await ctx.users.get(principal.user_id), principal.user_id)

    async def submit(account: Account) -> list[Event]:
        administrators = await person_refs(ctx, account.administrators)
        recipients = await audience(ctx, account, "activation")
        return account.submit(now(), administrators, submitter, recipients)

    return await ctx.accounts.change(account_id, submit, missing(account_id))


async def apply_activation_decision(ctx: Context, event: AccountActivationDecided) -> None:
    """Apply the desk's decision to an entity waiting for it; anything else changes nothing."""
    p = event.payload
    account_id = str(p.account_id)

    async def follow(account: Account) -> list[Event]:
        administrators = await person_refs(ctx, account.administrators)
        recipients = await audience(ctx, account, "activation")
        events = account.follow_desk(
            p.decision,
            p.message,
            p.case_number,
            p.decided_at,
            now(),
            administrators,
            p.agent_id,
            recipients,
        )
        if not events:
            log.info("activation decision ignored", extra={"account_id": account_id})
        return events

    try:
        account = await ctx.accounts.change(account_id, follow)
    except NotFound:
        log.info("activation decision for no account ignored", extra={"account_id": account_id})
        return
    if account.status == REJECTED:  # the NIT may be registered again (again: a no-op)
        await ctx.nit_claims.release(account.nit, account.id)


async def _asked_by_administrator(ctx: Context, account: Account, requester: Any) -> bool:
    """Is the case's requester (by the email the desk verified) an accepted administrator?"""
    if requester is None:
        return False
    wanted = requester.email.strip().lower()
    administrators = await person_refs(ctx, account.administrators)
    return any(a.email.strip().lower() == wanted for a in administrators)


async def apply_mixed_profile(ctx: Context, event: MixedProfileDecided) -> None:
    """Enable an entity's supplier side, when one of its administrators asked for it.

    A refused request changes nothing: anyone may open a case naming any account, and its
    rejection must not switch off a profile its administrators asked for."""
    p = event.payload
    account_id = str(p.account_id)
    if p.decision != "approve":
        return

    async def enable(account: Account) -> list[Event]:
        if account.kind != "entity" or account.mixed_profile:
            return []
        if not await _asked_by_administrator(ctx, account, p.requester):
            # The case's form names the account; only its administrators may ask for this.
            log.warning(
                "mixed-profile approval ignored: the requester administers no such account",
                extra={"account_id": account_id, "case_number": p.case_number},
            )
            return []
        return account.enable_mixed_profile(p.case_number, p.decided_at, now())

    try:
        await ctx.accounts.change(account_id, enable)
    except NotFound:
        log.info("mixed-profile decision ignored", extra={"account_id": account_id})
