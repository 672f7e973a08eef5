"""HTTP routes for access requests, members and roles, "Mis registros" and the directory."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from secop_runtime.auth import CurrentUser

from membership.domain.memberships import Membership
from membership.entrypoints.deps import Ctx
from membership.entrypoints.schemas import (
    AcceptBody,
    AccessRequestOut,
    DirectoryPage,
    MemberOut,
    MyMembershipOut,
    RejectBody,
    RolesBody,
)
from membership.service_layer import memberships, queries
from membership.service_layer.context import Context

router = APIRouter(tags=["memberships"])
ADMIN = {
    401: {"description": "missing, invalid or revoked token"},
    403: {"description": "not an administrator of the account"},
    404: {"description": "no such account or membership"},
    409: {
        "description": "a transition the membership's status does not allow, or the last "
        "administrator"
    },
}
Status = Literal["pending", "accepted", "rejected", "cancelled"]


async def _member(ctx: Context, decided: tuple[Any, Membership]) -> MemberOut:
    """The membership as the decision left it, as administrators see it."""
    return MemberOut(**(await queries.member_rows(ctx, [decided[1]]))[0])


@router.post(
    "/accounts/{account_id}/access-requests",
    status_code=201,
    summary="Solicitar acceso to an existing account",
    responses={
        **ADMIN,
        403: {"description": "user unknown here or not confirmed"},
        409: {"description": "already pending or accepted, or a draft account"},
    },
)
async def request_access(account_id: str, principal: CurrentUser, ctx: Ctx) -> AccessRequestOut:
    """The request waits ("Esperando aprobación"); the administrators are told."""
    return AccessRequestOut(**await memberships.request_access(ctx, principal, account_id))


@router.get("/accounts/{account_id}/members", summary="Administración de usuarios", responses=ADMIN)
async def list_members(
    account_id: str, principal: CurrentUser, ctx: Ctx, status: Status | None = None
) -> list[MemberOut]:
    """Administrators only: name, email, request date, status, last change, roles."""
    return [MemberOut(**d) for d in await queries.members(ctx, principal, account_id, status)]


@router.post(
    "/accounts/{account_id}/members/{user_id}/accept",
    responses=ADMIN,
    summary="Accept a pending request, with the member's roles",
)
async def accept(
    account_id: str, user_id: str, body: AcceptBody, principal: CurrentUser, ctx: Ctx
) -> MemberOut:
    d = await memberships.decide(ctx, principal, account_id, user_id, "accept", roles=body.roles)
    return await _member(ctx, d)


@router.post(
    "/accounts/{account_id}/members/{user_id}/reject",
    responses=ADMIN,
    summary="Reject a pending request",
)
async def reject(
    account_id: str,
    user_id: str,
    principal: CurrentUser,
    ctx: Ctx,
    body: RejectBody | None = None,
) -> MemberOut:
    reason = body.reason if body else ""
    d = await memberships.decide(ctx, principal, account_id, user_id, "reject", reason=reason)
    return await _member(ctx, d)


@router.post(
    "/accounts/{account_id}/members/{user_id}/cancel",
    responses=ADMIN,
    summary="Cancel an accepted membership",
)
async def cancel(account_id: str, user_id: str, principal: CurrentUser, ctx: Ctx) -> MemberOut:
    return await _member(
        ctx, await memberships.decide(ctx, principal, account_id, user_id, "cancel")
    )


@router.post(
    "/accounts/{account_id}/members/{user_id}/revert-rejection",
    responses=ADMIN,
    summary="Put a rejected request back to pending",
)
async def revert(account_id: str, user_id: str, principal: CurrentUser, ctx: Ctx) -> MemberOut:
    d = await memberships.decide(ctx, principal, account_id, user_id, "revert-rejection")
    return await _member(ctx, d)


@router.put(
    "/accounts/{account_id}/members/{user_id}/roles",
    responses=ADMIN,
    summary="Set an accepted member's roles",
)
async def set_roles(
    account_id: str, user_id: str, body: RolesBody, principal: CurrentUser, ctx: Ctx
) -> MemberOut:
    """administrator plus buyer (entities) or supplier (suppliers); one administrator stays."""
    return await _member(
        ctx, await memberships.set_roles(ctx, principal, account_id, user_id, body.roles)
    )


@router.get("/users/me/memberships", summary="Mis registros", responses={401: ADMIN[401]})
async def my_memberships(principal: CurrentUser, ctx: Ctx) -> list[MyMembershipOut]:
    """Every membership of the caller: pending, accepted, rejected or cancelled."""
    return [MyMembershipOut(**d) for d in await queries.my_memberships(ctx, principal)]


@router.get(
    "/directory/suppliers",
    summary="Directorio de proveedores",
    responses={401: ADMIN[401], 403: {"description": "not in an active buyer entity"}},
)
async def directory(
    principal: CurrentUser,
    ctx: Ctx,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> DirectoryPage:
    """Members of an active buyer entity look up active suppliers and their documents."""
    size = ctx.settings.directory_page_size
    return DirectoryPage(**await queries.supplier_directory(ctx, principal, q, page, size))
