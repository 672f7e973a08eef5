"""The desk and notice choices on the real broker and database: support's case events about an
account reach membership's desk, and the members who chose case updates are mailed (through
notification, from ``AccountCaseUpdated`` alone); a stranger's case naming the account is not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from membership.adapters.cases import CaseArchive
from secop_contracts import Event
from secop_contracts.support import CaseMessageAdded, CaseOpened, CaseResolved

from tests.integration.membership.conftest import ready_account
from tests.support.kafka import json_values, produce_raw, read_topic
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
FAST_MAIL = {"retry_backoff_base_s": 0.2, "sender_poll_interval_s": 0.2, "smtp_timeout_s": 5.0}


def requester(email: str) -> dict[str, str]:
    return {"full_name": "Quien Pide", "email": email}


async def publish(infra, svc, event: Event) -> None:
    topic = svc.settings.topic(event.TOPIC)
    await produce_raw(infra.kafka_bootstrap, topic, event.to_json(), event.key.encode())


def case_opened(
    number: str,
    account_id: str,
    email: str,
    at: datetime,
    by: uuid.UUID | None,
    origin: str = "web",
) -> CaseOpened:
    return CaseOpened(
        producer="support",
        payload={
            "case_number": number,
            "requester": requester(email),
            "system": "SECOP_II",
            "request_type": "Soporte técnico",
            "subject": "No puedo cargar un documento",
            "user_type": "proveedor",
            "description": "palabras privadas del caso",
            "account_id": account_id,
            "opened_by_user": by,
            "origin": origin,
            "opened_at": at,
            "first_response_due": at + timedelta(days=1),
        },
    )


async def test_members_follow_their_accounts_cases_on_the_desk_and_by_email(
    start_service, registry, infra, mailbox
):
    svc = await start_service("membership")
    await start_service("notification", **FAST_MAIL)
    ana = await registry.person(svc, "Ana Admin")
    beto = await registry.person(svc, "Beto Proveedor")
    mallory = await registry.person(svc, "Mallory Otra")
    account = await ready_account(svc, ana, "supplier")  # active on submission
    asked = await svc.client.post(f"/accounts/{account}/access-requests", headers=beto.headers)
    assert asked.status_code == 201, asked.text
    accepted = await svc.client.post(
        f"/accounts/{account}/members/{beto.user_id}/accept",
        json={"roles": ["supplier"]},
        headers=ana.headers,
    )
    assert accepted.status_code == 200, accepted.text
    notices = f"/accounts/{account}/notices"
    chosen = await svc.client.put(notices, json={"notices": ["case_updates"]}, headers=beto.headers)
    assert chosen.status_code == 200 and chosen.json()["notices"] == ["case_updates"]
    refused = await svc.client.put(
        notices, json={"notices": ["access_requests"]}, headers=beto.headers
    )
    assert refused.status_code == 422
    assert "only administrators" in refused.json()["detail"][0]["msg"]
    outsider = await svc.client.get(f"/accounts/{account}/desk", headers=mallory.headers)
    assert outsider.status_code == 403

    at = datetime.now(UTC)
    ours, theirs, forged = (f"CCE-T-{uuid.uuid4().hex[:8]}" for _ in range(3))
    # a stranger's, signed in, and one opened without logging in in Beto's name
    await publish(infra, svc, case_opened(theirs, account, mallory.email, at, mallory.user_id))
    await publish(infra, svc, case_opened(forged, account, beto.email, at, None))
    await publish(infra, svc, case_opened(ours, account, beto.email, at, beto.user_id))
    answer = CaseMessageAdded(
        producer="support",
        payload={
            "case_number": ours,
            "message_id": uuid.uuid4().hex,
            "author": "agent",
            "agent_id": uuid.uuid4(),
            "body": "respuesta privada",
            "requester": requester(beto.email),
            "added_at": at + timedelta(minutes=5),
            "account_id": account,
        },
    )
    await publish(infra, svc, answer)

    async def on_the_desk() -> list:
        desk = await svc.client.get(f"/accounts/{account}/desk", headers=beto.headers)
        assert desk.status_code == 200, desk.text
        cases = desk.json()["open_cases"]
        return cases if cases and cases[0]["last_change"] == "answered" else []

    (case,) = await eventually(on_the_desk)
    assert case["case_number"] == ours  # the stranger's case is not on it

    # (Beto also gets the desk's reply as the case's requester: that one quotes it)
    mails = await mailbox.wait_for(
        beto.email, subject=f"Caso {ours} de su cuenta", count=2, timeout=60
    )
    assert not any("privad" in m["Text"] for m in mails)  # the case's words stay with the desk
    resolved = CaseResolved(
        producer="support",
        payload={
            "case_number": ours,
            "resolution": "resuelto en privado",
            "requester": requester(beto.email),
            "resolved_by": uuid.uuid4(),
            "resolved_at": at + timedelta(minutes=10),
            "account_id": account,
        },
    )
    await publish(infra, svc, resolved)

    async def off_the_desk() -> bool:
        desk = await svc.client.get(f"/accounts/{account}/desk", headers=ana.headers)
        return desk.json()["open_cases"] == []

    await eventually(off_the_desk)
    records = await read_topic(
        infra.kafka_bootstrap, svc.settings.topic("AccountCaseUpdated"), at_least=3
    )
    told = {(e["payload"]["case_number"], e["payload"]["change"]) for e in json_values(records)}
    assert told == {(ours, "opened"), (ours, "answered"), (ours, "resolved")}
    for event in json_values(records):
        assert [r["email"] for r in event["payload"]["notice_recipients"]] == [beto.email]
    assert not any(b"privad" in r.value for r in records)
    mails = await mailbox.wait_for(
        beto.email, subject=f"Caso {ours} de su cuenta", count=3, timeout=60
    )
    assert len(mails) == 3
    # Ana did not choose case updates; nobody is mailed about the stranger's case
    to_ana = await mailbox.messages_to(ana.email)
    assert not any("de su cuenta" in m["Subject"] for m in to_ana)

    # the maintenance pass forgets both once past their retention (the real query on FerretDB)
    archive = CaseArchive(svc.db)
    assert await archive.prune(at) == 0
    assert await archive.prune(at + timedelta(days=1)) == 3
    gone = {"_id": {"$in": [ours, theirs, forged]}}
    assert await svc.db["account_cases"].count_documents(gone) == 0
