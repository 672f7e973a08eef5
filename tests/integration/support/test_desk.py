"""The service desk at work: who may act, the queue, the case's life and its history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from secop_contracts.registration import UserSignedOut, UserSignedOutPayload

from tests.integration.support.conftest import RECOVERY, case_body, case_key
from tests.support.kafka import json_values, produce_raw, read_topic
from tests.support.tokens import bearer
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_only_agents_reach_the_queue_and_the_decisions(start_service, uid, dev_keys, agent):
    support = await start_service("support")
    client = support.client
    number = (await client.post("/cases", json=case_body(uid))).json()["case_number"]
    citizen = bearer(dev_keys, roles=("buyer",))
    agent_only = [
        ("GET", "/cases", None),
        ("POST", f"/cases/{number}/assign", {}),
        ("POST", f"/cases/{number}/resolve", {"resolution": "listo"}),
        ("POST", f"/cases/{number}/reopen", {"reason": "otra vez"}),
        ("POST", f"/cases/{number}/activation", {"decision": "approve", "message": ""}),
        ("POST", f"/cases/{number}/credentials", None),
    ]
    for method, path, body in agent_only:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
        forbidden = await client.request(method, path, json=body, headers=citizen)
        assert forbidden.status_code == 403, (path, forbidden.text)
    garbage = await client.get("/cases", headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401
    # A token with a role but no valid signature of registration's keys is still refused.
    assert (await client.get("/cases", headers=agent)).status_code == 200
    # A non-agent token on the requester's routes is refused rather than treated as a requester.
    assert (await client.get(f"/cases/{number}", headers=citizen)).status_code == 403

    # After logout (registration's UserSignedOut) the agent's token stops working.
    token = agent["Authorization"].split()[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    signed_out = UserSignedOut(
        producer="registration",
        payload=UserSignedOutPayload(
            user_id=uuid.UUID(claims["sub"]),
            session_id=claims["sid"],
            token_expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            signed_out_at=datetime.now(UTC),
        ),
    )
    await produce_raw(
        support.settings.kafka_bootstrap_servers,
        support.settings.topic("UserSignedOut"),
        signed_out.to_json(),
        key=signed_out.key.encode(),
    )

    async def refused() -> bool:
        return (await client.get("/cases", headers=agent)).status_code == 401

    await eventually(refused)


async def test_a_case_goes_through_the_desk_and_keeps_its_whole_history(
    start_service, uid, dev_keys, agent
):
    support = await start_service("support")
    client = support.client
    email = f"ana.{uid}@example.co"
    urgent = (await client.post("/cases", json=case_body(uid, subject=RECOVERY))).json()
    later = (await client.post("/cases", json=case_body(uid, subject="Otros"))).json()
    number = later["case_number"]

    queue = (await client.get("/cases", headers=agent)).json()
    assert [i["case_number"] for i in queue["items"]] == [urgent["case_number"], number]
    assert queue["total"] == 2 and not any(i["overdue"] for i in queue["items"])

    # A case past its due date with no answer is overdue. (Time travel by editing the stored
    # due date, once the relay has published CaseOpened and no longer rewrites the document.)
    async def published() -> bool:
        return (
            await support.db["cases"].count_documents({"_outbox_pending": {"$exists": True}}) == 0
        )

    await eventually(published)
    past = datetime.now(UTC) - timedelta(hours=1)
    await support.db["cases"].update_one({"_id": number}, {"$set": {"first_response_due": past}})
    overdue = (await client.get("/cases", params={"overdue": "true"}, headers=agent)).json()
    assert [i["case_number"] for i in overdue["items"]] == [number]
    assert overdue["items"][0]["overdue"] is True
    on_time = (await client.get("/cases", params={"overdue": "false"}, headers=agent)).json()
    assert [i["case_number"] for i in on_time["items"]] == [urgent["case_number"]]
    by_subject = await client.get("/cases", params={"subject": RECOVERY}, headers=agent)
    assert [i["case_number"] for i in by_subject.json()["items"]] == [urgent["case_number"]]

    # Take it, then hand it over.
    mine = await client.post(f"/cases/{number}/assign", headers=agent)
    assert mine.status_code == 200, mine.text
    me = jwt.decode(agent["Authorization"].split()[1], options={"verify_signature": False})["sub"]
    assert mine.json()["assignee_id"] == me
    assert (await client.get("/cases", params={"assignee": "me"}, headers=agent)).json()[
        "total"
    ] == 1
    colleague = str(uuid.uuid4())
    handed = await client.post(
        f"/cases/{number}/assign", json={"assignee_id": colleague}, headers=agent
    )
    assert handed.json()["assignee_id"] == colleague

    # The requester writes; the agent answers: the answer stops the clock (no longer overdue).
    asked = await client.post(
        f"/cases/{number}/messages",
        json={"body": "¿Hay novedades?", "email": email},
        headers=await case_key(support, dev_keys, number),
    )
    assert asked.status_code == 201, asked.text
    answered = await client.post(
        f"/cases/{number}/messages", json={"body": "Estamos revisando."}, headers=agent
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["overdue"] is False
    assert (await client.get("/cases", params={"overdue": "true"}, headers=agent)).json()[
        "total"
    ] == 0

    resolved = await client.post(
        f"/cases/{number}/resolve", json={"resolution": "Se restableció el acceso."}, headers=agent
    )
    assert resolved.json()["status"] == "resolved"
    again = await client.post(f"/cases/{number}/resolve", json={"resolution": "x"}, headers=agent)
    assert again.status_code == 409
    closed = await client.post(
        f"/cases/{number}/messages",
        json={"body": "gracias", "email": email},
        headers=await case_key(support, dev_keys, number),
    )
    assert closed.status_code == 409
    reopened = await client.post(
        f"/cases/{number}/reopen", json={"reason": "Sigue fallando"}, headers=agent
    )
    assert reopened.json()["status"] == "open" and reopened.json()["awaiting_response"] is True

    # The requester sees the public conversation, never the agents' identities.
    key = await case_key(support, dev_keys, number)
    view = (await client.get(f"/cases/{number}", params={"email": email}, headers=key)).json()
    assert view["status"] == "open"
    assert [(m["author"], m["body"]) for m in view["messages"]] == [
        ("requester", "¿Hay novedades?"),
        ("agent", "Estamos revisando."),
        ("agent", "Se restableció el acceso."),
    ]
    # The desk sees everything, in order, with who did it.
    full = (await client.get(f"/cases/{number}", headers=agent)).json()
    actions = [(h["action"], h["actor"]["kind"]) for h in full["history"]]
    assert actions == [
        ("opened", "requester"),
        ("assigned", "agent"),
        ("assigned", "agent"),
        ("message", "requester"),
        ("message", "agent"),
        ("resolved", "agent"),
        ("reopened", "agent"),
    ]
    assert full["history"][2]["details"]["previous_assignee_id"] == me

    bootstrap = support.settings.kafka_bootstrap_servers
    topic = support.settings.topic
    messages = json_values(await read_topic(bootstrap, topic("CaseMessageAdded"), at_least=2))
    assert [m["payload"]["author"] for m in messages] == ["requester", "agent"]
    assert messages[1]["payload"]["requester"]["email"] == email
    for name in ("CaseResolved", "CaseReopened"):
        assert (await read_topic(bootstrap, topic(name)))[0].key.decode() == number
    assigned = json_values(await read_topic(bootstrap, topic("CaseAssigned"), at_least=2))
    assert [a["payload"]["assignee_id"] for a in assigned] == [me, colleague]


async def test_credentials_are_resent_through_registration_without_showing_the_user(
    start_service, uid, agent
):
    support = await start_service("support")
    client = support.client
    recovery = (await client.post("/cases", json=case_body(uid, subject=RECOVERY))).json()
    other = (await client.post("/cases", json=case_body(uid))).json()

    r = await client.post(f"/cases/{recovery['case_number']}/credentials", headers=agent)
    assert r.status_code == 202, r.text
    assert "1020304050" not in r.text and uid not in r.text
    refused = await client.post(f"/cases/{other['case_number']}/credentials", headers=agent)
    assert refused.status_code == 409

    records = await read_topic(
        support.settings.kafka_bootstrap_servers,
        support.settings.topic("CredentialsResendRequested"),
    )
    payload = json_values(records)[0]["payload"]
    assert payload["document_number"] == "1020304050"
    assert payload["email"] == f"ana.{uid}@example.co"
    assert records[0].key.decode() == recovery["case_number"]


async def test_agents_acting_at_once_on_one_case_cannot_both_resolve_it(start_service, uid, agent):
    support = await start_service("support")
    client = support.client
    number = (await client.post("/cases", json=case_body(uid))).json()["case_number"]

    async def resolve(i: int) -> int:
        body = {"resolution": f"respuesta {i}"}
        return (await client.post(f"/cases/{number}/resolve", json=body, headers=agent)).status_code

    async def write(i: int) -> int:
        body = {"body": f"nota {i}"}
        return (
            await client.post(f"/cases/{number}/messages", json=body, headers=agent)
        ).status_code

    statuses = await asyncio.gather(*(resolve(i) for i in range(5)), *(write(i) for i in range(5)))
    assert statuses[:5].count(200) == 1 and statuses[:5].count(409) == 4
    full = (await client.get(f"/cases/{number}", headers=agent)).json()
    actions = [h["action"] for h in full["history"]]
    assert actions.count("resolved") == 1
    # Every accepted action has exactly one version; none was lost or applied twice.
    assert [h["version"] for h in full["history"]] == list(range(len(actions)))
    assert actions.count("message") == statuses[5:].count(201)
    assert full["version"] == len(actions) - 1 and full["status"] == "resolved"
