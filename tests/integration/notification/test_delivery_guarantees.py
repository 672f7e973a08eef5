"""Delivered once, never lost: SMTP outages, two instances, redeliveries, permanent refusals."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import REGISTRY

from tests.integration.notification.conftest import FAST, OPERATOR, produce
from tests.support.kafka import read_topic
from tests.support.waiting import eventually
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


async def states(service, addresses: list[str]) -> dict[str, str]:
    docs = await service.db["deliveries"].find({"recipient": {"$in": addresses}}).to_list()
    return {d["recipient"]: d["state"] for d in docs}


async def test_mail_waits_out_an_smtp_outage_and_all_of_it_arrives_once_back(
    start_service, dev_keys, uid, smtp_port, local_smtp
) -> None:
    service = await start_service("notification", smtp_port=smtp_port, **FAST)
    addresses = [f"{uid}-{i}@example.co" for i in range(3)]
    for address in addresses:
        await produce(service, samples.password_reset(dev_keys.seal_public, address))

    async def all_recorded() -> bool:
        return len(await states(service, addresses)) == 3

    await eventually(all_recorded, what="deliveries recorded")
    await asyncio.sleep(2.0)  # several outage back-offs: nothing may be spent or abandoned
    docs = await service.db["deliveries"].find({}).to_list()
    assert {d["state"] for d in docs} == {"queued"}
    assert {d["attempts"] for d in docs} == {0}

    sink = local_smtp()  # the relay comes back

    async def all_sent() -> bool:
        return set((await states(service, addresses)).values()) == {"sent"}

    await eventually(all_sent, what="every email sent after the outage")
    for address in addresses:
        assert len(sink.to(address)) == 1


def applied(topic: str) -> float:
    """Events this process's consumers handled on ``topic`` (both instances run in it)."""
    sample = REGISTRY.get_sample_value(
        "secop_events_consumed_total", {"topic": topic, "outcome": "applied"}
    )
    return sample or 0.0


async def test_two_instances_and_redeliveries_send_each_email_exactly_once(
    start_service, mailbox, dev_keys, uid
) -> None:
    first = await start_service("notification", **FAST)
    second = await start_service("notification", **FAST)
    assert first.settings.database_name == second.settings.database_name
    addresses = [f"{uid}-{i}@example.co" for i in range(6)]
    events = [samples.password_reset(dev_keys.seal_public, a) for a in addresses]
    for event in events:
        await produce(first, event)
        await produce(second, event)  # the same event_id again: a redelivery

    for address in addresses:
        await mailbox.wait_for(address, timeout=60)
    # Deliver them again, long after: notification keeps no processed marks (its deliveries'
    # ids derive from the event's), so only those ids stand between a redelivery and a resend.
    # The topic is this test's own (its prefix is): three copies of each event were produced.
    topic = first.settings.topic(events[0].TOPIC)
    for event in events:
        await produce(first, event)

    async def redelivered_applied() -> bool:
        return applied(topic) >= 3 * len(events)

    await eventually(redelivered_applied, what="the redeliveries handled")
    await asyncio.sleep(1.5)  # time for any duplicate send to show
    for address in addresses:
        assert len(await mailbox.messages_to(address)) == 1, address
    assert await first.db["deliveries"].count_documents({}) == len(events)
    sent = await first.db["deliveries"].count_documents({"state": "sent", "attempts": 1})
    assert sent == len(events)


async def test_a_permanent_refusal_is_abandoned_with_its_reason_and_can_be_retried(
    start_service, dev_keys, uid, smtp_port, local_smtp, infra
) -> None:
    sink = local_smtp()
    service = await start_service("notification", smtp_port=smtp_port, **FAST)
    refused = f"reject-{uid}@example.co"
    accepted = f"{uid}@example.co"
    await produce(service, samples.password_reset(dev_keys.seal_public, refused))
    await produce(service, samples.password_reset(dev_keys.seal_public, accepted))

    async def outcome() -> dict[str, str] | None:
        found = await states(service, [refused, accepted])
        return found if found == {refused: "abandoned", accepted: "sent"} else None

    await eventually(outcome, what="one abandoned, one sent")
    r = await service.client.get(
        "/deliveries", params={"recipient": refused, "status": "abandoned"}, headers=OPERATOR
    )
    (view,) = r.json()["deliveries"]
    assert view["attempts"] == 1 and view["permanent"] is True
    assert view["last_error"].startswith("recipient refused: 550")
    assert len(sink.to(accepted)) == 1 and sink.to(refused) == []

    failed = await read_topic(infra.kafka_bootstrap, service.settings.topic("EmailFailed"))
    payload = json.loads(failed[0].value)["payload"]
    assert payload["permanent"] is True and payload["abandoned"] is True
    assert "550" in payload["error"] and refused not in failed[0].value.decode()

    r = await service.client.post(f"/deliveries/{view['id']}/retry", headers=OPERATOR)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "queued"

    async def abandoned_again() -> bool:
        doc = await service.db["deliveries"].find_one({"_id": view["id"]})
        return doc["state"] == "abandoned" and doc["attempts"] == 2

    await eventually(abandoned_again, what="the retried delivery refused again")

    (sent,) = (
        await service.client.get("/deliveries", params={"recipient": accepted}, headers=OPERATOR)
    ).json()["deliveries"]
    r = await service.client.post(f"/deliveries/{sent['id']}/retry", headers=OPERATOR)
    assert r.status_code == 409
    r = await service.client.post(f"/deliveries/{'0' * 32}/retry", headers=OPERATOR)
    assert r.status_code == 404
    r = await service.client.post(f"/deliveries/{sent['id']}/retry")
    assert r.status_code == 401
