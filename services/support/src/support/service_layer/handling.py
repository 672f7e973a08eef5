"""Use cases on an existing case: reading it, messages, assignment, resolution, reopening.

Each action is one ``cases.change``: load the case, let the domain decide (it changes the case,
appends its history entry, or refuses), and save that with the action's events in one
conditional write. Two agents acting at once both load version n; one saves, the other decides
again on the newer state (e.g. "already resolved", 409). The events name the account the case
is about (if any), so that membership can tell the account's members who follow its cases.
"""

from __future__ import annotations

from uuid import UUID

from secop_contracts import Event
from secop_contracts.support import (
    CaseAssigned,
    CaseAssignedPayload,
    CaseMessageAdded,
    CaseMessageAddedPayload,
    CaseReopened,
    CaseReopenedPayload,
    CaseResolved,
    CaseResolvedPayload,
)
from secop_runtime.errors import Invalid, NotFound

from support.domain import access
from support.domain.cases import Actor, Case
from support.service_layer import limits
from support.service_layer.context import CASE_NOT_FOUND, Context


def message_id(case: Case, version: int) -> str:
    return f"{case.number}:{version:08d}"


async def get_case(ctx: Context, number: str) -> Case:
    """The whole case, for the desk."""
    case = await ctx.cases.get(number)
    if case is None:
        raise NotFound(CASE_NOT_FOUND)
    return case


async def requester_view(
    ctx: Context, number: str, client: str, email: str | None, key: str | None
) -> Case:
    """The case, only for its requester (else: not found, as for an unknown number)."""
    await limits.enforce_follow_limit(ctx, client)
    if email is None:
        raise NotFound(CASE_NOT_FOUND)
    async with limits.failures_counted(ctx, number):
        case = await ctx.cases.get(number)
        if case is None or not access.admits(case, email, key):
            raise NotFound(CASE_NOT_FOUND)
        return case


async def requester_writes(
    ctx: Context, number: str, client: str, body: str, email: str | None, key: str | None
) -> Case:
    """A message from the requester, with the case's key and their email."""
    await limits.enforce_follow_limit(ctx, client)
    if email is None:
        raise Invalid("the requester's email is required", field="email")
    async with limits.failures_counted(ctx, number):
        return await _add_message(ctx, number, Actor("requester"), body, email, key)


async def agent_writes(ctx: Context, number: str, actor: Actor, body: str) -> Case:
    """An agent's message (emailed to the requester); the first one stops the desk's clock."""
    return await _add_message(ctx, number, actor, body)


async def _add_message(
    ctx: Context,
    number: str,
    actor: Actor,
    body: str,
    email: str | None = None,
    key: str | None = None,
) -> Case:
    requester = actor.kind == "requester"

    def decide(case: Case) -> list[Event]:
        if requester and not access.admits(case, email or "", key):
            raise NotFound(CASE_NOT_FOUND)
        entry = case.add_message(actor, body, ctx.now())
        if requester:
            access.confirm_requester(case, entry.at)
        payload = CaseMessageAddedPayload(
            case_number=number,
            message_id=message_id(case, entry.version),
            author="agent" if actor.kind == "agent" else "requester",
            agent_id=UUID(actor.id) if actor.kind == "agent" and actor.id else None,
            body=body,
            requester=case.requester,
            added_at=entry.at,
            account_id=case.account_id,
        )
        return [ctx.event(CaseMessageAdded, payload)]

    return await ctx.cases.change(number, decide, missing=CASE_NOT_FOUND)


async def assign(ctx: Context, number: str, assignee_id: UUID, actor: Actor) -> Case:
    def decide(case: Case) -> list[Event]:
        entry = case.assign(assignee_id, actor, ctx.now())
        if entry is None:
            return []
        payload = CaseAssignedPayload(
            case_number=number,
            assignee_id=assignee_id,
            assigned_by=UUID(str(actor.id)),
            assigned_at=entry.at,
            account_id=case.account_id,
        )
        return [ctx.event(CaseAssigned, payload)]

    return await ctx.cases.change(number, decide, missing=CASE_NOT_FOUND)


async def resolve(ctx: Context, number: str, resolution: str, actor: Actor) -> Case:
    def decide(case: Case) -> list[Event]:
        entry = case.resolve(resolution, actor, ctx.now())
        payload = CaseResolvedPayload(
            case_number=number,
            resolution=resolution,
            requester=case.requester,
            resolved_by=UUID(str(actor.id)),
            resolved_at=entry.at,
            account_id=case.account_id,
        )
        return [ctx.event(CaseResolved, payload)]

    return await ctx.cases.change(number, decide, missing=CASE_NOT_FOUND)


async def reopen(ctx: Context, number: str, reason: str, actor: Actor) -> Case:
    def decide(case: Case) -> list[Event]:
        now = ctx.now()
        case.reopen(reason, actor, now, ctx.due(case.subject, now))
        payload = CaseReopenedPayload(
            case_number=number,
            reason=reason,
            reopened_by=UUID(str(actor.id)),
            reopened_at=now,
            account_id=case.account_id,
        )
        return [ctx.event(CaseReopened, payload)]

    return await ctx.cases.change(number, decide, missing=CASE_NOT_FOUND)
