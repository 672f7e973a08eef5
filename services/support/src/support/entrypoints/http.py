"""HTTP routes for requesters: open a case, follow it, write to the desk (no login needed)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import EmailStr
from secop_contracts.support import Requester
from secop_runtime.auth import MaybeUser

from support.entrypoints.deps import CaseNumber, Client, Ctx, MaybeAgent, actor_of
from support.entrypoints.schemas import (
    AgentCaseOut,
    CaseOpenedOut,
    MessageIn,
    OpenCaseIn,
    RequesterCaseOut,
)
from support.entrypoints.views import agent_case, requester_case
from support.service_layer import handling
from support.service_layer.opening import NewCase, open_requested_case

router = APIRouter(tags=["cases"])

NOT_FOUND = {
    404: {"description": "No such case, or the key or email is not the requester's"},
    429: {"description": "Too many requests from this address or for this case; see Retry-After"},
}
CaseKey = Annotated[
    str | None,
    Header(
        alias="X-Case-Key",
        max_length=100,
        description="The case's access key, from the email sent when it opened.",
    ),
]


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOpenedOut,
    summary="Open a support case (no login needed)",
    responses={
        401: {"description": "a token was sent and it is not valid"},
        422: {"description": "A field is invalid or the subject is not in the catalogue"},
        429: {"description": "Too many cases from this IP or email; see Retry-After"},
    },
)
async def open_support_case(
    body: OpenCaseIn, ctx: Ctx, client: Client, principal: MaybeUser
) -> CaseOpenedOut:
    """Open a case; the answer carries the number to follow it and the first-response due date.
    With a token, the case names the signed-in user who opened it (``CaseOpened.opened_by_user``):
    only then may the account it names count it as its own (membership's desk).

    The due date counts desk hours only (Monday to Friday 07:00-19:00, Saturday 08:00-12:00,
    Bogotá, no Colombian holidays) from the subject's SLA. Limited per client IP and per email.
    """
    new = NewCase(
        requester=Requester(**body.requester.model_dump(), time_zone="America/Bogota"),
        system=body.system,
        request_type=body.request_type,
        subject=body.subject,
        user_type=body.user_type,
        description=body.description,
        source_key=f"web:{uuid.uuid4()}",
        account_id=str(body.account_id) if body.account_id else None,
        nit=body.nit,
        opened_by_user=str(principal.user_id) if principal else None,
    )
    case = await open_requested_case(ctx, new, client)
    return CaseOpenedOut(case_number=case.number, first_response_due=case.first_response_due)


@router.get(
    "/cases/{case_number}",
    response_model=RequesterCaseOut | AgentCaseOut,
    summary="Follow a case (requester: X-Case-Key and ?email=; agent: bearer token)",
    responses=NOT_FOUND,
)
async def get_case(
    number: CaseNumber,
    ctx: Ctx,
    client: Client,
    agent: MaybeAgent,
    key: CaseKey = None,
    email: Annotated[EmailStr | None, Query(description="The requester's email")] = None,
) -> Any:
    """The requester sees status, dates and public messages; an agent sees the whole case.

    The requester proves it with the case's access key (header `X-Case-Key`, from the email
    sent when the case opened) and their email. A wrong key or email gets the same 404 as an
    unknown number: nothing tells whether a case exists. Limited per client and per case.
    """
    if agent is not None:
        return agent_case(await handling.get_case(ctx, number))
    email_given = str(email) if email is not None else None
    return requester_case(await handling.requester_view(ctx, number, client, email_given, key))


@router.post(
    "/cases/{case_number}/messages",
    status_code=201,
    response_model=RequesterCaseOut | AgentCaseOut,
    summary="Add a public message (requester with X-Case-Key and email, or agent with token)",
    responses={**NOT_FOUND, 409: {"description": "The case is resolved"}},
)
async def add_message(
    number: CaseNumber,
    body: MessageIn,
    ctx: Ctx,
    client: Client,
    agent: MaybeAgent,
    key: CaseKey = None,
) -> Any:
    """A requester writes with the case's access key (`X-Case-Key`) and email; an agent's
    message is emailed to the requester."""
    if agent is not None:
        return agent_case(await handling.agent_writes(ctx, number, actor_of(agent), body.body))
    email = str(body.email) if body.email is not None else None
    case = await handling.requester_writes(ctx, number, client, body.body, email, key)
    return requester_case(case)
