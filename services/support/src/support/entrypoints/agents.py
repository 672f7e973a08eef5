"""HTTP routes for the service desk's agents (a token with the ``support_agent`` role)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query
from secop_runtime.http import ApiError

from support.entrypoints.deps import Agent, CaseNumber, DeskDep, actor_of
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
from support.service_layer.desk import Desk

router = APIRouter(tags=["service desk"])

AUTH = {
    401: {"description": "No valid token"},
    403: {"description": "The token lacks the support_agent role"},
}
ON_CASE = {**AUTH, 404: {"description": "No such case"}, 409: {"description": "Not allowed now"}}


@router.get("/cases", response_model=QueueOut, summary="The work queue", responses=AUTH)
async def queue(
    desk: DeskDep,
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
    clauses: list[dict[str, Any]] = []
    if status != "all":
        clauses.append({"status": status})
    if subject:
        clauses.append({"subject": subject})
    if assignee:
        clauses.append({"assignee_id": _assignee(assignee, agent.user_id)})
    if overdue is True:
        clauses.append(
            {"status": "open", "awaiting_response": True, "first_response_due": {"$lt": now}}
        )
    elif overdue is False:
        clauses.append(
            {
                "$or": [
                    {"status": {"$ne": "open"}},
                    {"awaiting_response": False},
                    {"first_response_due": {"$gte": now}},
                ]
            }
        )
    query = {"$and": clauses} if clauses else {}
    limit = min(limit, desk.settings.queue_page_max)
    docs, total = await desk.store.queue(query, offset, limit)
    items = [queue_item(d, now) for d in docs]
    return QueueOut(items=items, total=total, offset=offset, limit=limit)


def _assignee(value: str, me: UUID) -> str | None:
    if value == "me":
        return str(me)
    if value == "none":
        return None
    try:
        return str(UUID(value))
    except ValueError as exc:
        raise ApiError(422, "assignee: a user id, 'me' or 'none'") from exc


async def _view(desk: Desk, doc: dict[str, Any]) -> AgentCaseOut:
    return agent_case(doc, await desk.store.history(doc["_id"]))


@router.post(
    "/cases/{case_number}/assign",
    response_model=AgentCaseOut,
    summary="Take a case, or hand it over",
    responses=ON_CASE,
)
async def assign(
    number: CaseNumber,
    desk: DeskDep,
    agent: Agent,
    body: Annotated[AssignIn | None, Body()] = None,
) -> AgentCaseOut:
    """Without ``assignee_id`` (or without a body) the calling agent takes the case."""
    assignee = (body.assignee_id if body else None) or agent.user_id
    return await _view(desk, await handling.assign(desk, number, assignee, actor_of(agent)))


@router.post(
    "/cases/{case_number}/resolve",
    response_model=AgentCaseOut,
    summary="Resolve a case (the resolution is emailed to the requester)",
    responses=ON_CASE,
)
async def resolve(number: CaseNumber, desk: DeskDep, agent: Agent, body: ResolveIn) -> AgentCaseOut:
    doc = await handling.resolve(desk, number, body.resolution, actor_of(agent))
    return await _view(desk, doc)


@router.post(
    "/cases/{case_number}/reopen",
    response_model=AgentCaseOut,
    summary="Reopen a resolved case (a new first-response due date is set)",
    responses=ON_CASE,
)
async def reopen(number: CaseNumber, desk: DeskDep, agent: Agent, body: ReopenIn) -> AgentCaseOut:
    doc = await handling.reopen(desk, number, body.reason, actor_of(agent))
    return await _view(desk, doc)


@router.post(
    "/cases/{case_number}/activation",
    response_model=AgentCaseOut,
    summary="Decide an entity's activation or mixed profile",
    responses={**ON_CASE, 422: {"description": "A decision that this case cannot carry"}},
)
async def activation(
    number: CaseNumber, desk: DeskDep, agent: Agent, body: DecisionIn
) -> AgentCaseOut:
    """On an activation case: ``approve``, ``request_changes`` or ``reject`` the entity
    (``AccountActivationDecided``, applied by membership). On a mixed-profile case: ``approve``
    or ``reject`` (``MixedProfileDecided``). The requester is told; approve and reject close the
    case, request_changes keeps it open until the entity is submitted again.
    """
    doc = await deciding.decide(desk, number, body.decision, body.message, actor_of(agent))
    return await _view(desk, doc)


@router.post(
    "/cases/{case_number}/credentials",
    status_code=202,
    response_model=CredentialsOut,
    summary="Have registration email the requester's user data to their registered address",
    responses=ON_CASE,
)
async def credentials(number: CaseNumber, desk: DeskDep, agent: Agent) -> CredentialsOut:
    """Only on "Recuperación de usuario" cases. Nothing about the user is shown here."""
    await deciding.request_credentials(desk, number, actor_of(agent))
    return CredentialsOut(case_number=number)
