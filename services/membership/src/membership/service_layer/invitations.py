"""Invitations ("Crear usuarios"): administrators invite, list, send again and revoke; the
invitee, signed in with the invited address, accepts.

Each is one change of the account (``domain.invitation_book``), so its version arbitrates: two
administrators inviting one address at once leave one invitation, and two acceptances of one
link one member. A link's token is made here, stored only as its hash, and leaves only sealed
for notification inside ``MemberInvited``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from secop_contracts import Event
from secop_runtime.auth import Principal
from secop_runtime.errors import NotFound

from membership.adapters.users import person_ref
from membership.domain.accounts import Account
from membership.domain.invitation_book import new_invitation
from membership.domain.invitations import (
    Invitation,
    LinkProblem,
    email_key,
    issue_token,
    refused,
    token_names,
)
from membership.service_layer.common import missing, now, require_admin, require_known

if TYPE_CHECKING:
    from membership.service_layer.context import Context

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
    s = ctx.settings

    async def apply(account: Account) -> list[Event]:
        invitation = new_invitation(
            invitation_id,
            name,
            email,
            email_key(email),
            roles,
            str(principal.user_id),
            token.hash,
            now(),
            timedelta(days=s.invitation_ttl_days),
        )
        emails = await roster_emails(ctx, account)
        return account.invite(invitation, sealed, inviter, emails, s.max_pending_invitations)

    account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return _one(account, invitation_id)


async def pending(ctx: Context, principal: Principal, account_id: str) -> list[dict[str, Any]]:
    """The account's pending invitations, newest first (expired ones are not pending)."""
    account = await require_admin(ctx, account_id, principal)
    at = now()
    found = sorted(account.pending_invitations(at), key=lambda i: i.sent_at, reverse=True)
    return [shown(i, at) for i in found]


async def resend(
    ctx: Context, principal: Principal, account_id: str, invitation_id: str
) -> dict[str, Any]:
    """A new link and a new expiry (the older link stops working); at most once per interval."""
    await require_admin(ctx, account_id, principal)
    token = issue_token(account_id, invitation_id)
    sealed = ctx.sealed(token.plain)
    inviter = await _inviter_name(ctx, principal)
    s = ctx.settings

    async def apply(account: Account) -> list[Event]:
        emails = await roster_emails(ctx, account)
        return account.resend(
            invitation_id,
            token.hash,
            sealed,
            str(principal.user_id),
            inviter,
            emails,
            now(),
            timedelta(days=s.invitation_ttl_days),
            timedelta(seconds=s.invitation_resend_interval_s),
            s.max_pending_invitations,
        )

    account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return _one(account, invitation_id)


async def revoke(ctx: Context, principal: Principal, account_id: str, invitation_id: str) -> None:
    """Withdraw a pending invitation (``InvitationRevoked``): its link stops working."""
    await require_admin(ctx, account_id, principal)
    by = str(principal.user_id)

    def apply(account: Account) -> list[Event]:
        return account.revoke(invitation_id, by, now())

    await ctx.accounts.change(account_id, apply, missing(account_id))


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

    def apply(account: Account) -> list[Event]:
        return account.accept_invitation(invitation_id, token, user, user_key, now())

    try:
        account = await ctx.accounts.change(account_id, apply, missing(account_id))
    except NotFound:  # no such account: the link is not ours
        raise refused(LinkProblem.UNKNOWN) from None
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
