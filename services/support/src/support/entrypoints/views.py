"""Stored documents as the HTTP API shows them: the requester's view and the desk's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.entrypoints.schemas import (
    AgentCaseOut,
    HistoryEntry,
    PublicMessage,
    QueueItem,
    RequesterCaseOut,
)
from support.service_layer.deciding import requester_verified


def is_overdue(doc: dict[str, Any], now: datetime | None = None) -> bool:
    """Open, still awaiting the desk's first answer, and past its due date."""
    due = doc.get("first_response_due")
    now = now or datetime.now(UTC)
    return bool(doc["status"] == "open" and doc.get("awaiting_response") and due and due < now)


def requester_case(doc: dict[str, Any], history: list[dict[str, Any]]) -> RequesterCaseOut:
    """Only public entries, and no agent's identity: the desk answers as one."""
    messages = [
        PublicMessage(
            author="requester" if e["actor"]["kind"] == "requester" else "agent",
            kind=e["action"],
            body=e["body"],
            at=e["at"],
        )
        for e in history
        if e.get("public") and e.get("body")
    ]
    return RequesterCaseOut(
        case_number=doc["_id"],
        status=doc["status"],
        system=doc["system"],
        request_type=doc["request_type"],
        subject=doc["subject"],
        opened_at=doc["opened_at"],
        updated_at=doc["updated_at"],
        first_response_due=doc.get("first_response_due"),
        resolved_at=doc.get("resolved_at"),
        messages=messages,
    )


def queue_item(doc: dict[str, Any], now: datetime | None = None) -> QueueItem:
    return QueueItem(**_item_fields(doc, now))


def _item_fields(doc: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    return {
        "case_number": doc["_id"],
        "status": doc["status"],
        "subject": doc["subject"],
        "system": doc["system"],
        "request_type": doc["request_type"],
        "user_type": doc["user_type"],
        "origin": doc.get("origin", "web"),
        "requester_name": doc["requester"]["full_name"],
        "entity_name": doc["requester"].get("entity_name", ""),
        "account_id": doc.get("account_id"),
        "assignee_id": doc.get("assignee_id"),
        "opened_at": doc["opened_at"],
        "first_response_due": doc.get("first_response_due"),
        "awaiting_response": bool(doc.get("awaiting_response")),
        "overdue": is_overdue(doc, now),
    }


def agent_case(doc: dict[str, Any], history: list[dict[str, Any]]) -> AgentCaseOut:
    opened = HistoryEntry(
        version=0,
        action="opened",
        actor={"kind": "system" if doc.get("origin") != "web" else "requester"},
        at=doc["opened_at"],
        public=False,
        details={"origin": doc.get("origin", "web")},
    )
    entries = [
        HistoryEntry(
            version=e["version"],
            action=e["action"],
            actor=e["actor"],
            at=e["at"],
            public=bool(e.get("public")),
            body=e.get("body"),
            details=e.get("details") or {},
        )
        for e in history
    ]
    return AgentCaseOut(
        **_item_fields(doc, None),
        requester=doc["requester"],
        requester_verified=requester_verified(doc),
        description=doc["description"],
        nit=doc.get("nit"),
        documents=doc.get("documents") or [],
        decision=doc.get("decision"),
        resolution=doc.get("resolution"),
        resolved_at=doc.get("resolved_at"),
        updated_at=doc["updated_at"],
        version=doc.get("version", 0),
        history=[opened, *entries],
    )
