"""Cases as the HTTP API shows them: the requester's view and the desk's."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from support.domain.access import requester_verified
from support.domain.cases import Case
from support.entrypoints.schemas import (
    AgentCaseOut,
    HistoryEntry,
    PublicMessage,
    QueueItem,
    RequesterCaseOut,
)


def requester_case(case: Case) -> RequesterCaseOut:
    """Only public entries, and no agent's identity: the desk answers as one."""
    messages = [
        PublicMessage(
            author="requester" if e.actor.kind == "requester" else "agent",
            kind=e.action,
            body=e.body,
            at=e.at,
        )
        for e in case.history
        if e.public and e.body
    ]
    return RequesterCaseOut(
        case_number=case.number,
        status=case.status,
        system=case.system,
        request_type=case.request_type,
        subject=case.subject,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        first_response_due=case.first_response_due,
        resolved_at=case.resolved_at,
        messages=messages,
    )


def queue_item(case: Case, now: datetime | None = None) -> QueueItem:
    return QueueItem(**_item_fields(case, now or datetime.now(UTC)))


def _item_fields(case: Case, now: datetime) -> dict[str, Any]:
    return {
        "case_number": case.number,
        "status": case.status,
        "subject": case.subject,
        "system": case.system,
        "request_type": case.request_type,
        "user_type": case.user_type,
        "origin": case.origin,
        "requester_name": case.requester.full_name,
        "entity_name": case.requester.entity_name,
        "account_id": case.account_id,
        "assignee_id": case.assignee_id,
        "opened_at": case.opened_at,
        "first_response_due": case.first_response_due,
        "awaiting_response": case.awaiting_response,
        "overdue": case.is_overdue(now),
    }


def agent_case(case: Case) -> AgentCaseOut:
    opened = HistoryEntry(
        version=0,
        action="opened",
        actor={"kind": "system" if case.origin != "web" else "requester"},
        at=case.opened_at,
        public=False,
        details={"origin": case.origin},
    )
    entries = [
        HistoryEntry(
            version=e.version,
            action=e.action,
            actor=asdict(e.actor),
            at=e.at,
            public=e.public,
            body=e.body,
            details=e.details,
        )
        for e in case.history
    ]
    return AgentCaseOut(
        **_item_fields(case, datetime.now(UTC)),
        requester=case.requester.model_dump(),
        requester_verified=requester_verified(case),
        description=case.description,
        nit=case.nit,
        documents=case.documents,
        decision=case.decision,
        resolution=case.resolution,
        resolved_at=case.resolved_at,
        updated_at=case.updated_at,
        version=case.actions,
        history=[opened, *entries],
    )
