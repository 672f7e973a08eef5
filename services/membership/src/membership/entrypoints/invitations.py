"""HTTP routes for invitations ("Crear usuarios")."""

from __future__ import annotations

from fastapi import APIRouter, Response
from secop_runtime.auth import CurrentUser

from membership.entrypoints.deps import Ctx
from membership.entrypoints.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationOut,
    MyMembershipOut,
)
from membership.service_layer import invitations

router = APIRouter(tags=["invitations"])
ADMIN = {
    401: {"description": "missing, invalid or revoked token"},
    403: {"description": "not an administrator of the account"},
    404: {"description": "no such account or invitation"},
}
SEALING = {503: {"description": "this instance cannot seal links (no notification key)"}}


@router.post(
    "/accounts/{account_id}/invitations",
    status_code=201,
    summary="Crear usuarios: invite a person by name and email, with their roles",
    responses={
        **ADMIN,
        **SEALING,
        409: {
            "description": "the address belongs to a live member of the account, an invitation "
            "to it is pending (`invitation_id` names it: send that one again), the account is "
            "not active (an entity invites once the service desk has activated it; a "
            "natural-person supplier never), or too many invitations are pending"
        },
        422: {
            "description": "a role the account does not have, an invalid address, or a name "
            "that is not only letters, spaces and . ' - (2 to 120 characters)"
        },
        429: {
            "description": "the account sent `INVITATION_EMAILS_PER_DAY` invitation emails in "
            "the last 24 hours, or the address received `INVITATION_EMAILS_PER_ADDRESS_PER_DAY` "
            "today from all accounts: see Retry-After"
        },
    },
)
async def invite(
    account_id: str, body: InvitationCreate, principal: CurrentUser, ctx: Ctx
) -> InvitationOut:
    """The invitee is emailed a single-use link that expires (`INVITATION_TTL_DAYS`). The
    answer never says whether the address has a user anywhere."""
    created = await invitations.invite(
        ctx, principal, account_id, body.name, str(body.email), body.roles
    )
    return InvitationOut(**created)


@router.get("/accounts/{account_id}/invitations", summary="Pending invitations", responses=ADMIN)
async def list_invitations(
    account_id: str, principal: CurrentUser, ctx: Ctx
) -> list[InvitationOut]:
    """Administrators only, newest first; never a link or its token."""
    return [InvitationOut(**i) for i in await invitations.pending(ctx, principal, account_id)]


@router.post(
    "/accounts/{account_id}/invitations/{invitation_id}/resend",
    summary="Send an invitation again, with a new link",
    responses={
        **ADMIN,
        **SEALING,
        409: {
            "description": "accepted, revoked or void; the address now belongs to a member; "
            "the account is no longer active; or already sent `INVITATION_MAX_SENDS` times "
            "(create a new invitation after revoking this one)"
        },
        429: {
            "description": "sent a moment ago, or the account's or the address's daily "
            "invitation emails are spent: see Retry-After"
        },
    },
)
async def resend(
    account_id: str, invitation_id: str, principal: CurrentUser, ctx: Ctx
) -> InvitationOut:
    """A pending or expired invitation gets a new link and a new expiry; the older link stops
    working. At most once per `INVITATION_RESEND_INTERVAL_S`, and `INVITATION_MAX_SENDS` times
    in all (its first sending included)."""
    sent = await invitations.resend(ctx, principal, account_id, invitation_id)
    return InvitationOut(**sent)


@router.delete(
    "/accounts/{account_id}/invitations/{invitation_id}",
    status_code=204,
    summary="Revoke a pending invitation",
    responses={**ADMIN, 409: {"description": "not pending (accepted, revoked or expired)"}},
)
async def revoke(account_id: str, invitation_id: str, principal: CurrentUser, ctx: Ctx) -> Response:
    """Its link stops working; the invitee is told, unless the account's daily invitation
    emails (`INVITATION_EMAILS_PER_DAY`) or the address's are spent: revoking is never
    refused for that."""
    await invitations.revoke(ctx, principal, account_id, invitation_id)
    return Response(status_code=204)


@router.post(
    "/invitations/accept",
    summary="Accept an invitation (signed in with the invited address)",
    responses={
        400: {
            "description": "`reason`: `unknown` link (or superseded by a newer one), `used`, "
            "`revoked`, or `no_longer_valid` (the invitation was closed: ask the account's "
            "administrators for a new one)"
        },
        401: ADMIN[401],
        403: {"description": "the invitation was sent to another address, or user unknown"},
        409: {
            "description": "already a member (the invitation is closed with it), the account "
            "takes no members now, or the invited roles no longer apply"
        },
        410: {"description": "the invitation expired"},
    },
)
async def accept(body: InvitationAccept, principal: CurrentUser, ctx: Ctx) -> MyMembershipOut:
    """The caller becomes an accepted member with the invited roles; the link is spent."""
    return MyMembershipOut(**await invitations.accept(ctx, principal, body.token))
