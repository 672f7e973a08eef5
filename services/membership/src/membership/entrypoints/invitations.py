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
            "to it is pending (`invitation_id` names it: send that one again), the account "
            "takes no members, or too many invitations are pending"
        },
        422: {"description": "a role the account does not have, or an invalid address"},
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
        409: {"description": "accepted or revoked, or the address now belongs to a member"},
        429: {"description": "sent a moment ago: see Retry-After"},
    },
)
async def resend(
    account_id: str, invitation_id: str, principal: CurrentUser, ctx: Ctx
) -> InvitationOut:
    """A pending or expired invitation gets a new link and a new expiry; the older link stops
    working. At most once per `INVITATION_RESEND_INTERVAL_S`."""
    sent = await invitations.resend(ctx, principal, account_id, invitation_id)
    return InvitationOut(**sent)


@router.delete(
    "/accounts/{account_id}/invitations/{invitation_id}",
    status_code=204,
    summary="Revoke a pending invitation",
    responses={**ADMIN, 409: {"description": "not pending (accepted, revoked or expired)"}},
)
async def revoke(account_id: str, invitation_id: str, principal: CurrentUser, ctx: Ctx) -> Response:
    """Its link stops working; the invitee is told."""
    await invitations.revoke(ctx, principal, account_id, invitation_id)
    return Response(status_code=204)


@router.post(
    "/invitations/accept",
    summary="Accept an invitation (signed in with the invited address)",
    responses={
        400: {"description": "unknown link (or superseded by a newer one), used, or revoked"},
        401: ADMIN[401],
        403: {"description": "the invitation was sent to another address, or user unknown"},
        409: {"description": "already a member, or the account takes no members now"},
        410: {"description": "the invitation expired"},
    },
)
async def accept(body: InvitationAccept, principal: CurrentUser, ctx: Ctx) -> MyMembershipOut:
    """The caller becomes an accepted member with the invited roles; the link is spent."""
    return MyMembershipOut(**await invitations.accept(ctx, principal, body.token))
