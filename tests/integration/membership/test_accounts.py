"""Accounts over HTTP, real broker and database: drafts, submission, the desk's decisions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from secop_contracts.support import AccountActivationDecided

from tests.integration.membership.conftest import (
    DIVIPOLA,
    ENTITY_DOCS,
    SUPPLIER_DOCS,
    entity_form,
    new_nit,
    outbox_drained,
    ready_account,
    supplier_form,
    upload,
)
from tests.support.kafka import json_values, produce_raw, read_topic
from tests.support.tokens import bearer
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_a_supplier_goes_from_draft_to_active_and_its_administrator_sees_it(
    start_service, registry, infra, dev_keys
):
    svc = await start_service("membership", divipola_file=DIVIPOLA)
    ana = await registry.person(svc, "Ana Pérez")
    nit = new_nit()

    # Unknown to the local view: refused. (A token proves confirmation: registration signs
    # tokens only for confirmed users, so the view's own flag, which may lag, is not asked.)
    stranger = await svc.client.post("/accounts", json=supplier_form(nit), headers=bearer(dev_keys))
    assert stranger.status_code == 403 and "not known here yet" in stranger.json()["detail"]
    anonymous = await svc.client.post("/accounts", json=supplier_form(nit))
    assert anonymous.status_code == 401

    bad = await svc.client.post(
        "/accounts",
        json=supplier_form("900123456-7", department="Atlantida", municipality="Gotham"),
        headers=ana.headers,
    )
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"nit", "department"}
    wrong_town = await svc.client.post(
        "/accounts", json=supplier_form(nit, municipality="Cali"), headers=ana.headers
    )
    assert (
        wrong_town.status_code == 422
        and wrong_town.json()["detail"][0]["loc"][-1] == "municipality"
    )

    created = await svc.client.post("/accounts", json=supplier_form(nit), headers=ana.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["legal_name"] == "CONSTRUCCIONES NANDU SAS"
    account_id = body["account_id"]

    form = (await svc.client.get(f"/accounts/{account_id}", headers=ana.headers)).json()
    assert form["short_name"] == "ÑANDÚ" and form["department"] == "CO-ANT"
    assert form["municipality"] == "MEDELLÍN" and form["municipality_code"] == "05001"

    edited = await svc.client.patch(
        f"/accounts/{account_id}", json={"website": "https://nandu.co"}, headers=ana.headers
    )
    assert edited.status_code == 200 and edited.json()["tax_regime"] == "ordinario"
    wrong_kind = await svc.client.patch(
        f"/accounts/{account_id}", json={"sector": "Gobierno"}, headers=ana.headers
    )
    assert wrong_kind.status_code == 422

    for doc in SUPPLIER_DOCS:
        assert (await upload(svc, ana, account_id, doc)).status_code == 201
    not_supplier_doc = await upload(svc, ana, account_id, "structure_act")
    assert not_supplier_doc.status_code == 404

    submitted = await svc.client.post(f"/accounts/{account_id}/submit", headers=ana.headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "active"
    again = await svc.client.post(f"/accounts/{account_id}/submit", headers=ana.headers)
    assert again.status_code == 409
    frozen = await svc.client.patch(
        f"/accounts/{account_id}", json={"website": "https://x.co"}, headers=ana.headers
    )
    assert frozen.status_code == 409

    records = await read_topic(infra.kafka_bootstrap, svc.settings.topic("AccountActivated"))
    (activated,) = json_values(records)
    assert activated["payload"]["account_id"] == account_id
    assert activated["payload"]["notification_email"] == "avisos@nandu.co"
    assert [a["email"] for a in activated["payload"]["administrators"]] == [ana.email]

    found = (await svc.client.get("/accounts", params={"name": "construcciones  ñandu"})).json()
    assert [a["account_id"] for a in found] == [account_id] and found[0]["status"] == "active"
    assert (await svc.client.get("/accounts", params={"nit": nit})).json()[0]["nit"] == nit
    assert (await svc.client.get("/accounts", params={"nit": nit[:-1]})).json() == []

    mine = (await svc.client.get("/users/me/memberships", headers=ana.headers)).json()
    assert [(m["account_id"], m["status"], m["nit"]) for m in mine] == [
        (account_id, "accepted", nit)
    ]


async def test_submit_lists_every_missing_field_and_document(start_service, registry):
    svc = await start_service("membership")
    ana = await registry.person(svc)
    form = entity_form(new_nit(), business_area="private", branch=None, sector=None)
    created = await svc.client.post("/accounts", json=form, headers=ana.headers)
    account_id = created.json()["account_id"]
    await upload(svc, ana, account_id, "rut")

    refused = await svc.client.post(f"/accounts/{account_id}/submit", headers=ana.headers)

    assert refused.status_code == 422
    missing = {e["loc"][-1] for e in refused.json()["detail"]}
    assert missing == {
        "branch",
        "sector",
        "documents.structure_act",
        "documents.spending_authority_act",
        "documents.admin_authorisation",
        "documents.existence_certificate",
    }
    form = (await svc.client.get(f"/accounts/{account_id}", headers=ana.headers)).json()
    assert form["status"] == "draft" and form["legal_name"] == "ALCALDIA DE BELLO"


async def decide(svc, infra, account_id: str, decision: str) -> bytes:
    event = AccountActivationDecided(
        producer="support",
        payload={
            "case_number": "CASE-1",
            "account_id": account_id,
            "decision": decision,
            "message": "ok",
            "agent_id": uuid.uuid4(),
            "decided_at": datetime.now(UTC),
        },
    )
    raw = event.to_json()
    await produce_raw(infra.kafka_bootstrap, svc.settings.topic(event.TOPIC), raw, b"CASE-1")
    return raw


async def status_of(svc, account_id: str) -> str:
    return (await svc.db["accounts"].find_one({"_id": account_id}))["status"]


async def test_an_entity_waits_for_the_desk_and_follows_its_decisions_once(
    start_service, registry, infra
):
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana Pérez")
    nit = new_nit()
    account_id = (
        await svc.client.post("/accounts", json=entity_form(nit), headers=ana.headers)
    ).json()["account_id"]
    for doc in ENTITY_DOCS:
        assert (await upload(svc, ana, account_id, doc)).status_code == 201
    submitted = await svc.client.post(f"/accounts/{account_id}/submit", headers=ana.headers)
    assert submitted.json()["status"] == "pending_activation"
    (first,) = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("EntitySubmitted"))
    )
    assert first["payload"]["resubmission"] is False
    assert first["payload"]["submitted_by"]["email"] == ana.email
    assert sorted(d["doc_type"] for d in first["payload"]["documents"]) == sorted(ENTITY_DOCS)
    assert all("content" not in d for d in first["payload"]["documents"])

    await decide(svc, infra, account_id, "request_changes")
    await eventually(lambda: _is(svc, account_id, "changes_requested"))
    fixed = await svc.client.patch(
        f"/accounts/{account_id}", json={"sector": "Hacienda"}, headers=ana.headers
    )
    assert fixed.status_code == 200
    resubmitted = await svc.client.post(f"/accounts/{account_id}/submit", headers=ana.headers)
    assert resubmitted.json()["status"] == "pending_activation"

    raw = await decide(svc, infra, account_id, "approve")
    await eventually(lambda: _is(svc, account_id, "active"))
    # Redelivery of the same decision, then a late contrary one: nothing changes.
    await produce_raw(infra.kafka_bootstrap, svc.settings.topic("AccountActivationDecided"), raw)
    await decide(svc, infra, account_id, "reject")
    marker = await decide(svc, infra, str(uuid.uuid4()), "approve")  # unknown account: ignored
    await eventually(lambda: _processed(svc, marker))
    assert await status_of(svc, account_id) == "active"

    await eventually(lambda: outbox_drained(svc))
    counts = {
        # distinct events, as a consumer counts them (delivery is at least once)
        name: len(
            {
                v["event_id"]
                for v in json_values(
                    await read_topic(infra.kafka_bootstrap, svc.settings.topic(name), at_least=n)
                )
            }
        )
        for name, n in (
            ("EntitySubmitted", 2),
            ("AccountChangesRequested", 1),
            ("AccountActivated", 1),
            ("AccountRejected", 0),
        )
    }
    assert counts == {
        "EntitySubmitted": 2,
        "AccountChangesRequested": 1,
        "AccountActivated": 1,
        "AccountRejected": 0,
    }
    submitted_events = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("EntitySubmitted"), at_least=2)
    )
    assert [e["payload"]["resubmission"] for e in submitted_events] == [False, True]


async def test_a_rejected_entity_frees_its_nit(start_service, registry, infra):
    svc = await start_service("membership")
    ana = await registry.person(svc)
    nit = new_nit()
    account_id = (
        await svc.client.post("/accounts", json=entity_form(nit), headers=ana.headers)
    ).json()["account_id"]
    for doc in ENTITY_DOCS:
        await upload(svc, ana, account_id, doc)
    await svc.client.post(f"/accounts/{account_id}/submit", headers=ana.headers)
    taken = await svc.client.post("/accounts", json=entity_form(nit), headers=ana.headers)
    assert taken.status_code == 409 and taken.json()["account_id"] == account_id
    # Someone else learns only that the NIT is taken, not which account under review holds it.
    beto = await registry.person(svc, "Beto Q")
    other = await svc.client.post("/accounts", json=entity_form(nit), headers=beto.headers)
    assert other.status_code == 409 and other.json().get("account_id") is None

    await decide(svc, infra, account_id, "reject")
    await eventually(lambda: _is(svc, account_id, "rejected"))

    again = await svc.client.post("/accounts", json=entity_form(nit), headers=ana.headers)
    assert again.status_code == 201
    (rejected,) = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("AccountRejected"))
    )
    assert rejected["payload"]["account_id"] == account_id


async def test_two_racing_registrations_of_one_nit_give_exactly_one_account(
    start_service, registry
):
    svc = await start_service("membership")
    people = [await registry.person(svc, f"Persona {i}") for i in range(2)]
    nit = new_nit()
    replies = await asyncio.gather(
        *(
            svc.client.post("/accounts", json=supplier_form(nit), headers=people[i % 2].headers)
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in replies) == [201, 409, 409, 409, 409, 409]
    assert await svc.db["accounts"].count_documents({"nit": nit}) == 1
    mine = [
        (await svc.client.get("/accounts", params={"nit": nit}, headers=p.headers)).json()
        for p in people
    ]
    assert sorted(len(found) for found in mine) == [0, 1]  # a draft shows to its own member


async def _is(svc, account_id: str, status: str) -> bool:
    return await status_of(svc, account_id) == status


async def _processed(svc, raw: bytes) -> bool:
    import json

    event_id = json.loads(raw)["event_id"]
    return bool(await svc.db["processed_events"].find_one({"_id": {"$regex": f"{event_id}$"}}))


async def test_drafts_are_few_per_user_can_be_discarded_and_expire_releasing_their_nit(
    start_service, registry
):
    """A draft held its NIT forever, and a user could open any number of drafts."""
    svc = await start_service("membership", max_drafts_per_user=2, draft_ttl_days=30)
    ana, beto = [await registry.person(svc, n) for n in ("Ana P", "Beto Q")]
    nits = [new_nit() for _ in range(3)]
    drafts = []
    for nit in nits[:2]:
        r = await svc.client.post("/accounts", json=supplier_form(nit), headers=ana.headers)
        assert r.status_code == 201, r.text
        drafts.append(r.json()["account_id"])
    third = await svc.client.post("/accounts", json=supplier_form(nits[2]), headers=ana.headers)
    assert third.status_code == 409 and third.json()["detail"][0]["type"] == "too_many_drafts"
    # Sent at once, drafts cannot slip past the count either.
    carla = await registry.person(svc, "Carla R")
    burst = await asyncio.gather(
        *(
            svc.client.post("/accounts", json=supplier_form(new_nit()), headers=carla.headers)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in burst) == [201, 201, 409, 409]
    assert (
        await svc.client.delete(f"/accounts/{drafts[0]}", headers=beto.headers)
    ).status_code == 403
    assert (
        await svc.client.delete(f"/accounts/{drafts[0]}", headers=ana.headers)
    ).status_code == 204
    again = await svc.client.post("/accounts", json=supplier_form(nits[0]), headers=beto.headers)
    assert again.status_code == 201, again.text  # the discarded draft's NIT is free

    # A desk agent releases a NIT that a stranger's draft holds, on a case.
    squatted = (
        await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    ).json()["account_id"]
    agent = bearer(registry.keys, username="agente", roles=("support_agent",))
    path = f"/accounts/{squatted}"
    assert (await svc.client.delete(path, headers=agent)).status_code == 422  # which case?
    released = await svc.client.delete(path, params={"case": "CCE-2026-000001"}, headers=agent)
    assert released.status_code == 204
    assert await svc.db["accounts"].count_documents({"_id": squatted}) == 0

    # A draft nobody touched for 30 days goes by itself, with its NIT; a touched one stays.
    stale, fresh = drafts[1], again.json()["account_id"]
    long_ago = datetime.now(UTC) - timedelta(days=31)
    await svc.db["accounts"].update_many(
        {"_id": {"$in": [stale, fresh]}}, {"$set": {"updated_at": long_ago}}
    )
    await upload(svc, beto, fresh, "rup")  # an upload is a use: the draft does not expire
    await svc.app.state.runtime.maintain_once()
    assert await svc.db["accounts"].count_documents({"_id": stale}) == 0
    assert await svc.db["memberships"].count_documents({"account_id": stale}) == 0
    assert await svc.db["accounts"].count_documents({"_id": fresh}) == 1  # an upload since
    reclaimed = await svc.client.post(
        "/accounts", json=supplier_form(nits[1]), headers=beto.headers
    )
    assert reclaimed.status_code == 201, reclaimed.text


async def test_a_mixed_profile_is_enabled_only_for_an_administrator_of_the_account(
    start_service, registry, infra
):
    """A mixed-profile request trusted the account id its requester typed."""
    from secop_contracts.support import MixedProfileDecided

    svc = await start_service("membership")
    ana, eve = [await registry.person(svc, n) for n in ("Ana P", "Eve M")]
    entity = await ready_account(svc, ana, "entity")
    await decide(svc, infra, entity, "approve")
    await eventually(lambda: _is_active(svc, entity))

    async def ask(requester, case: str) -> None:
        event = MixedProfileDecided(
            producer="support",
            payload={
                "case_number": case,
                "account_id": entity,
                "decision": "approve",
                "agent_id": uuid.uuid4(),
                "requester": {"full_name": requester.full_name, "email": requester.email},
                "decided_at": datetime.now(UTC),
            },
        )
        topic = svc.settings.topic(event.TOPIC)
        await produce_raw(infra.kafka_bootstrap, topic, event.to_json(), case.encode())

    await ask(eve, "CASE-EVE")  # not a member of that account
    await ask(ana, "CASE-ANA")  # its administrator

    async def enabled() -> bool:
        doc = await svc.db["accounts"].find_one({"_id": entity})
        return bool(doc.get("mixed_profile"))

    await eventually(enabled)
    records = await read_topic(infra.kafka_bootstrap, svc.settings.topic("MixedProfileChanged"))
    assert [v["payload"]["case_number"] for v in json_values(records)] == ["CASE-ANA"]
    # A stranger's case, rejected by the desk, switches nothing off.
    rejected = MixedProfileDecided(
        producer="support",
        payload={
            "case_number": "CASE-EVE-2",
            "account_id": entity,
            "decision": "reject",
            "message": "no",
            "agent_id": uuid.uuid4(),
            "requester": {"full_name": eve.full_name, "email": eve.email},
            "decided_at": datetime.now(UTC),
        },
    )
    topic = svc.settings.topic(rejected.TOPIC)
    await produce_raw(infra.kafka_bootstrap, topic, rejected.to_json(), b"CASE-EVE-2")
    await eventually(lambda: outbox_drained(svc))
    await asyncio.sleep(2)  # the consumer has had its chance
    assert (await svc.db["accounts"].find_one({"_id": entity}))["mixed_profile"] is True


async def _is_active(svc, account_id: str) -> bool:
    return await status_of(svc, account_id) == "active"
