"""Invitations ("Crear usuarios"): administrators invite, list, send again and revoke; the
invitee, signed in with the invited address, accepts.

Each is one change of the account (``domain.invitation_book``), so its version arbitrates: two
administrators inviting one address at once leave one invitation, and two acceptances of one
link one member. The account's own bounds (only an active account invites, its daily budget of
invitation emails, the sends of one invitation, what it keeps) are decided there. One bound
spans accounts and is kept here: an address receives at most
``INVITATION_EMAILS_PER_ADDRESS_PER_DAY`` invitation emails a day from all accounts together
(``ports.InvitationRecipients``), counted before the account's change and given back if it
sends nothing. A link's token is made here, stored only as its hash, and leaves only sealed
for notification inside ``MemberInvited``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from secop_contracts import Event
from secop_runtime.auth import Principal
from secop_runtime.errors import Contended, DomainError, NotFound, Throttled

from membership.adapters.invitation_recipients import day_end
from membership.adapters.users import person_ref
from membership.config import Settings
from membership.domain.accounts import Account
from membership.domain.invitation_book import new_invitation
from membership.domain.invitations import (
    Invitation,
    InvitationRules,
    LinkProblem,
    email_key,
    issue_token,
    refused,
    token_names,
)
from membership.service_layer.common import missing, now, require_admin, require_known

if TYPE_CHECKING:
    from membership.service_layer.context import Context

ADDRESS_BUSY = (
    "this address has received the most invitation emails it may today: try again tomorrow"
)


def rules(settings: Settings) -> InvitationRules:
    """The invitations' bounds, as the settings give them."""
    return InvitationRules(
        ttl=timedelta(days=settings.invitation_ttl_days),
        resend_interval=timedelta(seconds=settings.invitation_resend_interval_s),
        max_pending=settings.max_pending_invitations,
        max_sends=settings.invitation_max_sends,
        emails_per_day=settings.invitation_emails_per_day,
        closed_retention=timedelta(days=settings.invitations_closed_retention_days),
        max_closed=settings.max_closed_invitations,
    )


@contextlib.asynccontextmanager
async def mail_to(ctx: Context, key: str, at: datetime, *, required: bool) -> AsyncIterator[bool]:
    """One of the address's invitation emails for today, across accounts: yields whether it
    may be emailed (``required``: else 429 until the UTC day ends). The email is given back if
    the change inside fails."""
    limit = ctx.settings.invitation_emails_per_address_per_day
    taken = await ctx.recipients.take(key, at, limit)
    if not taken and required:
        raise Throttled(ADDRESS_BUSY, (day_end(at) - at).total_seconds())
    try:
        yield taken
    except BaseException:
        if taken:
            await ctx.recipients.give_back(key, at)
        raise


#: What administrators see of an invitation: never its token's hash.
SHOWN = (
    "invitation_id",
    "name",
    "email",
    "roles",
    "invited_by",
    "invited_at",
    "sent_at",
    "expires_at",
    "sends",
)


def shown(invitation: Invitation, at: Any) -> dict[str, Any]:
    return {
        **invitation.model_dump(include=set(SHOWN)),
        "state": invitation.state_at(at),
    }


async def roster_emails(ctx: Context, account: Account) -> dict[str, str]:
    """The email key of each user in the account's roster, from the user view."""
    views = await ctx.users.get_many({m.user_id for m in account.members})
    return {user_id: email_key(view.get("email") or "") for user_id, view in views.items()}


async def _inviter_name(ctx: Context, principal: Principal) -> str:
    view = await ctx.users.get(principal.user_id)
    return (view or {}).get("full_name", "")


async def invite(
    ctx: Context, principal: Principal, account_id: str, name: str, email: str, roles: list[str]
) -> dict[str, Any]:
    """A new invitation; the invitee is emailed a single-use link (``MemberInvited``). The
    answer is the same whether or not the address has a user anywhere."""
    await require_admin(ctx, account_id, principal)
    invitation_id = str(uuid.uuid4())
    token = issue_token(account_id, invitation_id)
    sealed = ctx.sealed(token.plain)
    inviter = await _inviter_name(ctx, principal)
    bounds, key, at = rules(ctx.settings), email_key(email), now()
    invitation = new_invitation(
        invitation_id, name, email, key, roles, str(principal.user_id), token.hash, at, bounds.ttl
    )

    async def apply(account: Account) -> list[Event]:
        emails = await roster_emails(ctx, account)
        return account.invite(invitation.model_copy(), sealed, inviter, emails, bounds)

    async with mail_to(ctx, key, at, required=True):
        account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return _one(account, invitation_id)


async def pending(ctx: Context, principal: Principal, account_id: str) -> list[dict[str, Any]]:
    """The account's pending invitations, newest first (expired ones are not pending)."""
    return pending_of(await require_admin(ctx, account_id, principal), now())


def pending_of(account: Account, at: datetime) -> list[dict[str, Any]]:
    """The pending invitations of an account already loaded, newest first, as shown."""
    found = sorted(account.pending_invitations(at), key=lambda i: i.sent_at, reverse=True)
    return [shown(i, at) for i in found]


async def resend(
    ctx: Context, principal: Principal, account_id: str, invitation_id: str
) -> dict[str, Any]:
    """A new link and a new expiry (the older link stops working); at most once per interval,
    and ``INVITATION_MAX_SENDS`` times in all."""
    account = await require_admin(ctx, account_id, principal)
    token = issue_token(account_id, invitation_id)
    sealed = ctx.sealed(token.plain)
    inviter = await _inviter_name(ctx, principal)
    bounds, at = rules(ctx.settings), now()

    async def apply(account: Account) -> list[Event]:
        emails = await roster_emails(ctx, account)
        by = str(principal.user_id)
        return account.resend(invitation_id, token.hash, sealed, by, inviter, emails, at, bounds)

    found = account.find_invitation(invitation_id)
    async with mail_to(ctx, found.email_key, at, required=True):
        account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return _one(account, invitation_id)


async def revoke(ctx: Context, principal: Principal, account_id: str, invitation_id: str) -> None:
    """Withdraw a pending invitation (``InvitationRevoked``): its link stops working. Never
    refused for a spent budget; the invitee is told only within the account's and the
    address's budgets."""
    account = await require_admin(ctx, account_id, principal)
    by, bounds, at = str(principal.user_id), rules(ctx.settings), now()
    key = account.find_invitation(invitation_id).email_key
    told: list[bool] = []

    async with mail_to(ctx, key, at, required=False) as may_mail:

        def apply(account: Account) -> list[Event]:
            events = account.revoke(invitation_id, by, at, bounds, may_notify=may_mail)
            told[:] = [e.payload.notify_invitee for e in events]
            return events

        await ctx.accounts.change(account_id, apply, missing(account_id))
    if may_mail and not any(told):  # the account's budget was spent: nobody was emailed
        await ctx.recipients.give_back(key, at)


async def accept(ctx: Context, principal: Principal, token: str) -> dict[str, Any]:
    """The signed-in invitee follows the link: an accepted member with the invited roles."""
    token = token.strip()
    names = token_names(token)
    if names is None:
        raise refused(LinkProblem.UNKNOWN)
    account_id, invitation_id = names
    view = await require_known(ctx, principal)
    user = person_ref(view, principal.user_id)
    user_key = email_key(view.get("email") or "")

    refusal: list[DomainError] = []

    def apply(account: Account) -> list[Event]:
        events, refused_now = account.accept_invitation(
            invitation_id, token, user, user_key, now(), rules(ctx.settings)
        )
        refusal[:] = [refused_now] if refused_now else []
        return events

    try:
        account = await ctx.accounts.change(account_id, apply, missing(account_id))
    except NotFound:  # no such account: the link is not ours
        raise refused(LinkProblem.UNKNOWN) from None
    if refusal:  # the invitation is closed now (stored): the invitee is told why not
        raise refusal[0]
    membership = account.member(str(principal.user_id))
    assert membership is not None  # just admitted
    return {
        "membership_id": membership.membership_id,
        "account_id": account.id,
        "nit": account.nit,
        "account_name": account.legal_name,
        "kind": account.kind,
        "requested_at": membership.requested_at,
        "accepted_at": membership.accepted_at,
        "status": membership.status,
        "roles": membership.roles,
    }


def _one(account: Account, invitation_id: str) -> dict[str, Any]:
    invitation = account.invitation(invitation_id)
    assert invitation is not None  # just written
    return shown(invitation, invitation.sent_at)


async def forget_old_invitations(ctx: Context, at: datetime) -> int:
    """The maintenance pass: accounts holding invitations closed (or expired) longer ago than
    ``INVITATIONS_CLOSED_RETENTION_DAYS`` drop them, even if no invitation action runs there
    again (see ``AccountQueries.with_old_invitations`` for what finding them costs)."""
    bounds = rules(ctx.settings)

    def settle(account: Account) -> list[Event]:
        account.settle(at, bounds)
        return []

    settled = 0
    for account_id in await ctx.queries.with_old_invitations(at - bounds.closed_retention):
        with contextlib.suppress(Contended, NotFound):  # busy or gone: the next pass looks again
            await ctx.accounts.change(account_id, settle)
            settled += 1
    return settled
