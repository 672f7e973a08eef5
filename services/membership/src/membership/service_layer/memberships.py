"""Access requests and the administrators' decisions on them ("Administración de usuarios").

Each is one change of the account's roster (``domain.roster``), so the account's version
arbitrates: the last-administrator rule holds when two administrators act at once, a request
gets one decision, and a user one live membership per account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from secop_contracts import Event
from secop_runtime.auth import Principal
from secop_runtime.errors import NotFound

from membership.adapters.users import person_ref
from membership.domain.accounts import Account
from membership.domain.memberships import Membership
from membership.service_layer.common import (
    audience,
    missing,
    now,
    person_refs,
    require_admin,
    require_known,
)

if TYPE_CHECKING:
    from membership.service_layer.context import Context


async def request_access(ctx: Context, principal: Principal, account_id: str) -> dict[str, Any]:
    """A user asks to join an existing (not draft) account; its administrators are told."""
    user = person_ref(await require_known(ctx, principal), principal.user_id)

    async def ask(account: Account) -> list[Event]:
        administrators = await person_refs(ctx, account.administrators)
        recipients = await audience(ctx, account, "access_requests")
        return account.request_access(user, administrators, now(), recipients)

    account = await ctx.accounts.change(account_id, ask, missing(account_id))
    membership = account.member(str(principal.user_id))
    assert membership is not None  # just added
    return {"membership_id": membership.membership_id, "status": membership.status}


async def decide(
    ctx: Context,
    principal: Principal,
    account_id: str,
    user_id: str,
    action: str,
    *,
    roles: list[str] | None = None,
    reason: str = "",
) -> tuple[Account, Membership]:
    """accept (with roles), reject (with a reason), cancel, or revert a rejection."""
    await require_admin(ctx, account_id, principal)
    try:
        user = person_ref(await ctx.users.get(user_id), user_id)
    except ValueError:  # not a user id at all
        raise NotFound(f"user {user_id} has no membership in this account") from None
    by = str(principal.user_id)

    async def apply(account: Account) -> list[Event]:
        recipients = await audience(ctx, account, "access_decisions")
        return account.decide(
            user, action, by, now(), roles=roles, reason=reason, recipients=recipients
        )

    account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return account, _of(account, user_id)


async def set_roles(
    ctx: Context, principal: Principal, account_id: str, user_id: str, roles: list[str]
) -> tuple[Account, Membership]:
    """An accepted member's roles: administrator plus buyer or supplier."""
    await require_admin(ctx, account_id, principal)
    by = str(principal.user_id)

    def apply(account: Account) -> list[Event]:
        return account.set_roles(user_id, roles, by, now())

    account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return account, _of(account, user_id)


def _of(account: Account, user_id: str) -> Membership:
    membership = account.member(user_id)
    assert membership is not None  # the decision found it
    return membership
