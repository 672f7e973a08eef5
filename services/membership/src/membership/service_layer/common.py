"""What several use cases need: the time, the account or its refusal, who administers it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from secop_contracts.common import PersonRef
from secop_runtime.auth import Principal
from secop_runtime.errors import NotFound, Refused

from membership.adapters.users import person_ref
from membership.domain.accounts import Account

if TYPE_CHECKING:
    from membership.service_layer.context import Context

ADMINS_ONLY = "only the account's administrators may do this"


def now() -> datetime:
    return datetime.now(UTC)


def missing(account_id: str) -> str:
    return f"no account {account_id}"


async def account_or_404(ctx: Context, account_id: str) -> Account:
    account = await ctx.accounts.get(account_id)
    if account is None:
        raise NotFound(missing(account_id))
    return account


async def require_admin(ctx: Context, account_id: str, principal: Principal) -> Account:
    """The account, if the caller administers it."""
    account = await account_or_404(ctx, account_id)
    if not account.administers(str(principal.user_id)):
        raise Refused(ADMINS_ONLY)
    return account


async def require_known(ctx: Context, principal: Principal) -> dict[str, Any]:
    """The caller as the local view knows them (it follows registration's events).

    The access token itself proves the confirmation: registration signs tokens only for
    confirmed users. The view's own ``confirmed`` flag follows ``UserConfirmed`` and may lag a
    person who confirms and goes straight on (seen in the journeys under load), so it is not
    asked; the view must only know the user (``UserRegistered``, long before any token).
    """
    user = await ctx.users.get(principal.user_id)
    if user is None:
        raise Refused(
            "your registration is not known here yet: if you have just signed up or confirmed, "
            "try again in a few seconds"
        )
    return user


async def audience(ctx: Context, account: Account, notice: str) -> list[PersonRef]:
    """The members who receive ``notice`` of this account (``domain.notices``), addressed."""
    return await person_refs(ctx, account.receivers(notice))


async def person_refs(ctx: Context, user_ids: Iterable[str]) -> list[PersonRef]:
    """Users as events address them (email from the user view), those the view knows."""
    ids = list(user_ids)
    views = await ctx.users.get_many(ids)
    return [person_ref(views[i], i) for i in ids if i in views]
