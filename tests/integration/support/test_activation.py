"""Activation without a phone call: EntitySubmitted becomes a queue item; decisions go out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from secop_contracts.common import PersonRef
from secop_contracts.membership import DocumentRef, EntitySubmitted, EntitySubmittedPayload
from support.service_layer.activation import on_entity_submitted

from tests.integration.support.conftest import ACTIVATION, MIXED, case_body, case_key
from tests.support.kafka import json_values, produce_raw, read_topic
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def entity_submitted(uid: str, account_id: uuid.UUID, nit: str, *, resubmission: bool = False):
    admin = PersonRef(
        user_id=uuid.uuid4(), full_name="Laura Gómez", email=f"laura.{uid}@example.co"
    )
    return EntitySubmitted(
        producer="membership",
        payload=EntitySubmittedPayload(
            account_id=account_id,
            kind="entity",
            legal_name="ALCALDIA DE VILLA DE LEYVA",
            nit=nit,
            department="Boyacá",
            municipality="Villa de Leyva",
            notification_email=f"contratos.{uid}@example.co",
            administrators=[admin],
            organisation_type="Entidad Estatal (Decreto 1082 de 2015)",
            documents=[
                DocumentRef(
                    document_id="d1",
                    doc_type="rut",
                    filename="rut.pdf",
                    content_type="application/pdf",
                    size=1234,
                    sha256="0" * 64,
                ),
                DocumentRef(
                    document_id="d2",
                    doc_type="acto_posesion",
                    filename="posesion.pdf",
                    content_type="application/pdf",
                    size=4321,
                    sha256="1" * 64,
                ),
            ],
            submitted_by=admin,
            resubmission=resubmission,
            submitted_at=datetime.now(UTC),
        ),
    )


async def publish(support, event: EntitySubmitted) -> None:
    await produce_raw(
        support.settings.kafka_bootstrap_servers,
        support.settings.topic("EntitySubmitted"),
        event.to_json(),
        key=event.key.encode(),
    )


async def test_a_submitted_entity_opens_an_activation_case_and_an_approval_reaches_membership(
    start_service, uid, agent, dev_keys
):
    support = await start_service("support")
    client = support.client
    account_id = uuid.uuid4()
    first = entity_submitted(uid, account_id, "900123456")
    await publish(support, first)

    async def activation_cases() -> list:
        r = await client.get("/cases", params={"subject": ACTIVATION}, headers=agent)
        return r.json()["items"]

    [item] = await eventually(activation_cases)
    number = item["case_number"]
    assert item["origin"] == "entity_submitted" and item["account_id"] == str(account_id)
    case = (await client.get(f"/cases/{number}", headers=agent)).json()
    assert [d["filename"] for d in case["documents"]] == ["rut.pdf", "posesion.pdf"]
    assert case["requester"]["email"] == f"laura.{uid}@example.co"
    assert "rut.pdf" in case["description"] and case["user_type"] == "comprador"

    # Redelivery opens nothing new (the handler is idempotent even past the consumer's dedupe).
    assert await on_entity_submitted(support.app.state.context(), first) == number
    # The desk asks for changes; the entity is submitted again: the same case, clock restarted.
    changes = await client.post(
        f"/cases/{number}/activation",
        json={"decision": "request_changes", "message": "El RUT está vencido."},
        headers=agent,
    )
    assert changes.status_code == 200, changes.text
    assert changes.json()["status"] == "open" and changes.json()["awaiting_response"] is False
    await publish(support, entity_submitted(uid, account_id, "900123456", resubmission=True))

    async def relinked() -> dict | None:
        case = (await client.get(f"/cases/{number}", headers=agent)).json()
        return case if case["awaiting_response"] else None

    case = await eventually(relinked)
    assert case["history"][-1]["action"] == "entity_submission_linked"
    assert len(await activation_cases()) == 1

    empty = await client.post(
        f"/cases/{number}/activation", json={"decision": "reject", "message": ""}, headers=agent
    )
    assert empty.status_code == 422
    approved = await client.post(
        f"/cases/{number}/activation",
        json={"decision": "approve", "message": "Entidad activada."},
        headers=agent,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "resolved"
    late = await client.post(
        f"/cases/{number}/activation", json={"decision": "approve"}, headers=agent
    )
    assert late.status_code == 409

    records = await read_topic(
        support.settings.kafka_bootstrap_servers,
        support.settings.topic("AccountActivationDecided"),
        at_least=2,
    )
    decided = json_values(records)
    assert [d["payload"]["decision"] for d in decided] == ["request_changes", "approve"]
    assert {r.key.decode() for r in records} == {number}
    assert decided[1]["payload"]["account_id"] == str(account_id)
    assert decided[1]["payload"]["requester"]["email"] == f"laura.{uid}@example.co"
    view = await client.get(
        f"/cases/{number}",
        params={"email": f"laura.{uid}@example.co"},
        headers=await case_key(support, dev_keys, number),
    )
    assert [m["body"] for m in view.json()["messages"]] == [
        "El RUT está vencido.",
        "Entidad activada.",
    ]


async def test_a_submission_links_to_the_case_its_administrator_already_opened(
    start_service, uid, agent, dev_keys
):
    support = await start_service("support")
    client = support.client
    laura = {"email": f"LAURA.{uid}@example.co"}
    stranger = case_body(f"{uid}.x", subject=ACTIVATION, nit="800111222")
    theirs = (await client.post("/cases", json=stranger)).json()["case_number"]
    body = case_body(uid, subject=ACTIVATION, nit="800111222", requester=laura)
    own = (await client.post("/cases", json=body)).json()["case_number"]
    # Before the entity is submitted there is no account to activate.
    early = await client.post(
        f"/cases/{own}/activation", json={"decision": "approve"}, headers=agent
    )
    assert early.status_code == 409
    account_id = uuid.uuid4()
    await publish(support, entity_submitted(uid, account_id, "800111222"))

    async def linked() -> dict | None:
        case = (await client.get(f"/cases/{own}", headers=agent)).json()
        return case if case["account_id"] else None

    case = await eventually(linked)
    assert case["account_id"] == str(account_id) and len(case["documents"]) == 2
    # Membership hears the case is the entity's own now (its desk; its agent's documents).
    [told] = await read_topic(
        support.settings.kafka_bootstrap_servers,
        support.settings.topic("EntitySubmissionLinked"),
        at_least=1,
    )
    assert told.key.decode() == own
    assert json_values([told])[0]["payload"]["account_id"] == str(account_id)
    queue = (await client.get("/cases", params={"subject": ACTIVATION}, headers=agent)).json()
    assert sorted(i["case_number"] for i in queue["items"]) == sorted([theirs, own])
    # The stranger's case with the same NIT stays unlinked: no decision can be sent through it.
    assert (await client.get(f"/cases/{theirs}", headers=agent)).json()["account_id"] is None

    # A mixed-profile request on a named account is decided through the same route.
    mixed_body = case_body(uid, subject=MIXED, account_id=str(account_id))
    mixed = (await client.post("/cases", json=mixed_body)).json()["case_number"]
    no_changes = await client.post(
        f"/cases/{mixed}/activation",
        json={"decision": "request_changes", "message": "x"},
        headers=agent,
    )
    assert no_changes.status_code == 422
    # Anyone may type an account id into the form: until the requester writes on the case
    # with the key its email carried, the agent sees it unverified and cannot approve.
    unverified = (await client.get(f"/cases/{mixed}", headers=agent)).json()
    assert unverified["requester_verified"] is False
    early = await client.post(
        f"/cases/{mixed}/activation", json={"decision": "approve"}, headers=agent
    )
    assert early.status_code == 409 and "key" in early.json()["detail"]
    replied = await client.post(
        f"/cases/{mixed}/messages",
        json={"body": "Sí, soy la administradora.", "email": mixed_body["requester"]["email"]},
        headers=await case_key(support, dev_keys, mixed),
    )
    assert replied.status_code == 201, replied.text
    verified = (await client.get(f"/cases/{mixed}", headers=agent)).json()
    assert verified["requester_verified"] is True
    ok = await client.post(
        f"/cases/{mixed}/activation", json={"decision": "approve"}, headers=agent
    )
    assert ok.status_code == 200, ok.text
    records = await read_topic(
        support.settings.kafka_bootstrap_servers, support.settings.topic("MixedProfileDecided")
    )
    payload = json_values(records)[0]["payload"]
    assert payload["account_id"] == str(account_id) and payload["decision"] == "approve"
    other = (await client.post("/cases", json=case_body(uid))).json()["case_number"]
    wrong = await client.post(
        f"/cases/{other}/activation", json={"decision": "approve"}, headers=agent
    )
    assert wrong.status_code == 409
