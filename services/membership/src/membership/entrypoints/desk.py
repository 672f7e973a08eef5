"""HTTP routes for the account's desk ("Escritorio") and its members' notice choices
("Suscripción a notificaciones")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from secop_runtime.auth import CurrentUser

from membership.entrypoints.deps import Ctx
from membership.entrypoints.schemas import AccountPublic, MemberOut, Strict
from membership.service_layer import desk

router = APIRouter(tags=["desk"])
MEMBER = {
    401: {"description": "missing, invalid or revoked token"},
    403: {"description": "not an accepted member of the account"},
    404: {"description": "no such account"},
}


class NoticesBody(Strict):
    notices: list[str] = Field(
        max_length=10,
        description="Every notice the member wants (the others stop): access_requests and "
        "access_decisions (administrators only), activation, document_changes, case_updates.",
    )


class NoticesOut(BaseModel):
    notices: list[str] = Field(description="What the member receives by choice (or default).")
    available: list[str] = Field(description="What this member may choose.")
    defaults: bool = Field(description="True until the member chooses: their role's defaults.")
    access_requests_as_fallback: bool = Field(
        description="An administrator who opted out still receives access requests, because "
        "no other administrator does."
    )


class DeskAccount(AccountPublic):
    submitted_at: datetime | None = None
    activated_at: datetime | None = None
    last_decision: dict[str, Any] | None = None


class DeskCase(BaseModel):
    case_number: str
    request_type: str
    status: str
    last_change: str
    opened_at: datetime | None
    updated_at: datetime


class DeskInvitation(BaseModel):
    invitation_id: str
    name: str
    email: str
    roles: list[str]
    invited_at: datetime
    sent_at: datetime
    expires_at: datetime
    state: str


class Desk(BaseModel):
    account: DeskAccount
    administrator: bool
    open_cases: list[DeskCase]
    pending_access_requests: list[MemberOut] = Field(
        description="Administrators only (empty for other members), newest first."
    )
    pending_invitations: list[DeskInvitation] = Field(
        description="Administrators only (empty for other members), newest first."
    )
    notices: NoticesOut


@router.get("/accounts/{account_id}/desk", summary="Escritorio", responses=MEMBER)
async def account_desk(account_id: str, principal: CurrentUser, ctx: Ctx) -> Desk:
    """One call for what the desk shows a member: the account and its status, its open support
    cases (opened by its members or by its submission), and for administrators the pending
    access requests and invitations; newest first."""
    return Desk(**await desk.desk(ctx, principal, account_id))


@router.get(
    "/accounts/{account_id}/notices",
    summary="Suscripción a notificaciones (mine)",
    responses=MEMBER,
)
async def my_notices(account_id: str, principal: CurrentUser, ctx: Ctx) -> NoticesOut:
    return NoticesOut(**await desk.my_notices(ctx, principal, account_id))


@router.put(
    "/accounts/{account_id}/notices",
    summary="Choose which of the account's notices reach me",
    responses={
        **MEMBER,
        409: {"description": "the only administrator receiving access requests cannot stop"},
        422: {"description": "an unknown notice, or one only administrators receive"},
    },
)
async def choose_notices(
    account_id: str, body: NoticesBody, principal: CurrentUser, ctx: Ctx
) -> NoticesOut:
    """The account's notification email keeps receiving the activation notices whatever the
    members choose."""
    return NoticesOut(**await desk.choose_notices(ctx, principal, account_id, body.notices))
