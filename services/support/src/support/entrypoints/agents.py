"""HTTP routes for the service desk's agents (a token with the ``support_agent`` role)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query
from secop_runtime.errors import Invalid

from support.domain.queue import QueueFilter
from support.entrypoints.deps import Agent, CaseNumber, Ctx, actor_of
from support.entrypoints.schemas import (
    AgentCaseOut,
    AssignIn,
    CredentialsOut,
    DecisionIn,
    QueueOut,
    ReopenIn,
    ResolveIn,
)
from support.entrypoints.views import agent_case, queue_item
from support.service_layer import deciding, handling

router = APIRouter(tags=["service desk"])

AUTH = {
    401: {"description": "No valid token"},
    403: {"description": "The token lacks the support_agent role"},
}
ON_CASE = {**AUTH, 404: {"description": "No such case"}, 409: {"description": "Not allowed now"}}


@router.get("/cases", response_model=QueueOut, summary="The work queue", responses=AUTH)
async def queue(
    ctx: Ctx,
    agent: Agent,
    status: Literal["open", "resolved", "all"] = "open",
    subject: str | None = None,
    assignee: Annotated[
        str | None, Query(description="An agent's user id, 'me', or 'none' (unassigned)")
    ] = None,
    overdue: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Cases to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> QueueOut:
    """Most urgent first: cases still awaiting the desk's answer, by first-response due date.

    ``overdue=true``: open cases whose first-response due date passed with no agent answer yet.
    """
    now = datetime.now(UTC)
    query = QueueFilter(
        now=now,
        status=status,
        subject=subject or None,
        assignee=_assignee(assignee, agent.user_id) if assignee else None,
        unassigned=assignee == "none",
        overdue=overdue,
    )
    limit = min(limit, ctx.settings.queue_page_max)
    cases, total = await ctx.cases.queue(query, offset, limit)
    items = [queue_item(c, now) for c in cases]
    return QueueOut(items=items, total=total, offset=offset, limit=limit)


def _assignee(value: str, me: UUID) -> str | None:
    if value == "me":
        return str(me)
    if value == "none":
        return None
    try:
        return str(UUID(value))
    except ValueError as exc:
        raise Invalid("assignee: a user id, 'me' or 'none'") from exc


@router.post(
    "/cases/{case_number}/assign",
    response_model=AgentCaseOut,
    summary="Take a case, or hand it over",
    responses=ON_CASE,
)
async def assign(
    number: CaseNumber,
    ctx: Ctx,
    agent: Agent,
    body: Annotated[AssignIn | None, Body()] = None,
) -> AgentCaseOut:
    """Without ``assignee_id`` (or without a body) the calling agent takes the case."""
    assignee = (body.assignee_id if body else None) or agent.user_id
    return agent_case(await handling.assign(ctx, number, assignee, actor_of(agent)))


@router.post(
    "/cases/{case_number}/resolve",
    response_model=AgentCaseOut,
    summary="Resolve a case (the resolution is emailed to the requester)",
    responses=ON_CASE,
)
async def resolve(number: CaseNumber, ctx: Ctx, agent: Agent, body: ResolveIn) -> AgentCaseOut:
    return agent_case(await handling.resolve(ctx, number, body.resolution, actor_of(agent)))


@router.post(
    "/cases/{case_number}/reopen",
    response_model=AgentCaseOut,
    summary="Reopen a resolved case (a new first-response due date is set)",
    responses=ON_CASE,
)
async def reopen(number: CaseNumber, ctx: Ctx, agent: Agent, body: ReopenIn) -> AgentCaseOut:
    return agent_case(await handling.reopen(ctx, number, body.reason, actor_of(agent)))


@router.post(
    "/cases/{case_number}/activation",
    response_model=AgentCaseOut,
    summary="Decide an entity's activation or mixed profile",
    responses={**ON_CASE, 422: {"description": "A decision that this case cannot carry"}},
)
async def activation(number: CaseNumber, ctx: Ctx, agent: Agent, body: DecisionIn) -> AgentCaseOut:
    """On an activation case: ``approve``, ``request_changes`` or ``reject`` the entity
    (``AccountActivationDecided``, applied by membership). On a mixed-profile case: ``approve``
    or ``reject`` (``MixedProfileDecided``). The requester is told; approve and reject close the
    case, request_changes keeps it open until the entity is submitted again.
    """
    case = await deciding.decide(ctx, number, body.decision, body.message, actor_of(agent))
    return agent_case(case)


@router.post(
    "/cases/{case_number}/credentials",
    status_code=202,
    response_model=CredentialsOut,
    summary="Have registration email the requester's user data to their registered address",
    responses=ON_CASE,
)
async def credentials(number: CaseNumber, ctx: Ctx, agent: Agent) -> CredentialsOut:
    """Only on "Recuperación de usuario" cases. Nothing about the user is shown here."""
    await deciding.request_credentials(ctx, number, actor_of(agent))
    return CredentialsOut(case_number=number)
