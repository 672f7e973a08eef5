"""Cases stored before a case held its history are adopted at start, and act as any other."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from secop_contracts.support import CaseResolved, CaseResolvedPayload, Requester
from secop_runtime.outbox import stored
from support.adapters.legacy import adopt_legacy_cases

from tests.integration.support.conftest import case_body
from tests.support.kafka import json_values, read_topic

pytestmark = pytest.mark.integration


def legacy_case(number: str, uid: str, at: datetime) -> dict:
    """A case as the service stored it before: ``version`` counted actions, no ``_v``."""
    body = case_body(uid)
    return {
        "_id": number,
        "year": 2025,
        "seq": int(number[-6:]),
        "source_key": f"web:legacy-{uid}",
        "origin": "web",
        "requester": {**body["requester"], "time_zone": "America/Bogota"},
        **{k: body[k] for k in ("system", "request_type", "subject", "user_type", "description")},
        "account_id": None,
        "nit": None,
        "activation_linked": False,
        "documents": [],
        "source_event_ids": [],
        "status": "open",
        "assignee_id": None,
        "opened_at": at,
        "updated_at": at,
        "first_response_due": at + timedelta(hours=16),
        "first_response_at": None,
        "awaiting_response": True,
        "resolved_at": None,
        "resolution": None,
        "decision": None,
        "version": 1,
    }


def legacy_entry(number: str, version: int, at: datetime, **fields: object) -> dict:
    return {
        "_id": f"{number}:{version:08d}",
        "case_number": number,
        "version": version,
        "actor": {"kind": "agent", "id": "8d0c6f9e-0000-4000-8000-000000000001", "name": "m"},
        "at": at,
        "details": {},
        "body": None,
        "public": False,
        **fields,
    }


async def test_a_case_from_before_keeps_its_history_and_takes_new_actions(
    start_service, uid, agent
):
    support = await start_service("support")
    number, at = "CCE-2025-000041", datetime(2025, 6, 2, 15, tzinfo=UTC)
    body = case_body(uid)
    await support.db["cases"].insert_one(legacy_case(number, uid, at))
    await support.db["case_history"].insert_many(
        [
            legacy_entry(number, 1, at, action="message", body="Hola", public=True, state={}),
            # A crash lost this entry's copy onto the case, and its event waits unpublished:
            # adoption applies the one and hands the other to the case's outbox.
            legacy_entry(
                number, 2, at, action="resolved", body="Listo", public=True,
                state={"status": "resolved", "resolution": "Listo", "resolved_at": at},
                _outbox=[stored(resolved_event(number, body, at))], _outbox_pending=True,
            ),
        ]
    )  # fmt: skip
    assert await adopt_legacy_cases(support.db) == 1
    assert await adopt_legacy_cases(support.db) == 0

    case = (await support.client.get(f"/cases/{number}", headers=agent)).json()
    assert case["status"] == "resolved" and case["version"] == 2
    assert [(h["version"], h["action"]) for h in case["history"]] == [
        (0, "opened"),
        (1, "message"),
        (2, "resolved"),
    ]
    reopened = await support.client.post(
        f"/cases/{number}/reopen", json={"reason": "Sigue"}, headers=agent
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["version"] == 3 and reopened.json()["status"] == "open"
    records = await read_topic(
        support.settings.kafka_bootstrap_servers, support.settings.topic("CaseResolved")
    )
    assert [r["payload"]["resolution"] for r in json_values(records)] == ["Listo"]


def resolved_event(number: str, body: dict, at: datetime) -> CaseResolved:
    payload = CaseResolvedPayload(
        case_number=number,
        resolution="Listo",
        requester=Requester(**body["requester"]),
        resolved_by=uuid.uuid4(),
        resolved_at=at,
    )
    return CaseResolved(producer="support", payload=payload)
