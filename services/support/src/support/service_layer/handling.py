"""Use cases on an existing case: messages, assignment, resolution, reopening."""

from __future__ import annotations

import hmac
from typing import Any
from uuid import UUID

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

from support.adapters.cases import history_id
from support.domain import cases
from support.domain.cases import Actor, Case
from support.service_layer.actions import act, load
from support.service_layer.desk import CaseNotFound, Desk, requester_of
from support.service_layer.opening import key_hash


def same_email(doc: dict[str, Any], email: str) -> bool:
    given = email.strip().lower().encode()
    return hmac.compare_digest(given, str(doc["requester"]["email"]).strip().lower().encode())


def is_requester(doc: dict[str, Any], email: str, key: str | None) -> bool:
    """The case's access key (emailed when it opened) and the requester's email. A case opened
    before keys existed has none: its email alone still serves."""
    stored = doc.get("access_key_hash")
    if stored is not None and not hmac.compare_digest(key_hash(key or ""), stored):
        return False
    return same_email(doc, email)


async def requester_view(
    desk: Desk, number: str, email: str, key: str | None
) -> tuple[dict[str, Any], list]:
    """The case and its history, only for its requester (else: not found)."""
    doc = await load(desk, number)
    if not is_requester(doc, email, key):
        raise CaseNotFound(number)
    return doc, await desk.store.history(number)


async def add_message(
    desk: Desk,
    number: str,
    actor: Actor,
    body: str,
    email: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    def decide(case: Case, doc: dict[str, Any]) -> Any:
        if actor.kind == "requester" and not is_requester(doc, email or "", key):
            raise CaseNotFound(number)
        change = cases.add_message(case, actor, body, desk.now())
        if actor.kind == "requester" and doc.get("access_key_hash"):
            # Written with the key the opening email carried: the requester controls that
            # address (a mixed-profile approval waits for this).
            change.state.setdefault("requester_confirmed_at", change.at)
        event = desk.event(
            CaseMessageAdded,
            CaseMessageAddedPayload(
                case_number=number,
                message_id=history_id(number, case.version + 1),
                author="agent" if actor.kind == "agent" else "requester",
                agent_id=UUID(actor.id) if actor.kind == "agent" and actor.id else None,
                body=body,
                requester=requester_of(doc),
                added_at=change.at,
            ),
        )
        return change, [event]

    return await act(desk, number, decide)


async def assign(desk: Desk, number: str, assignee_id: UUID, actor: Actor) -> dict[str, Any]:
    def decide(case: Case, _: dict[str, Any]) -> Any:
        change = cases.assign(case, assignee_id, actor, desk.now())
        if change is None:
            return None
        payload = CaseAssignedPayload(
            case_number=number,
            assignee_id=assignee_id,
            assigned_by=UUID(str(actor.id)),
            assigned_at=change.at,
        )
        return change, [desk.event(CaseAssigned, payload)]

    return await act(desk, number, decide)


async def resolve(desk: Desk, number: str, resolution: str, actor: Actor) -> dict[str, Any]:
    def decide(case: Case, doc: dict[str, Any]) -> Any:
        change = cases.resolve(case, resolution, actor, desk.now())
        payload = CaseResolvedPayload(
            case_number=number,
            resolution=resolution,
            requester=requester_of(doc),
            resolved_by=UUID(str(actor.id)),
            resolved_at=change.at,
        )
        return change, [desk.event(CaseResolved, payload)]

    return await act(desk, number, decide)


async def reopen(desk: Desk, number: str, reason: str, actor: Actor) -> dict[str, Any]:
    def decide(case: Case, _: dict[str, Any]) -> Any:
        now = desk.now()
        change = cases.reopen(case, reason, actor, now, desk.due(case.subject, now))
        payload = CaseReopenedPayload(
            case_number=number, reason=reason, reopened_by=UUID(str(actor.id)), reopened_at=now
        )
        return change, [desk.event(CaseReopened, payload)]

    return await act(desk, number, decide)
