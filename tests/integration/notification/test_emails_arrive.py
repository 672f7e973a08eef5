"""Every consumed event becomes its email through the real broker, database and SMTP sink."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest

from tests.integration.notification.conftest import FAST, OPERATOR, produce
from tests.support.kafka import produce_raw, read_topic
from tests.support.mailbox import links_in
from tests.support.waiting import eventually
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


async def test_every_event_arrives_as_its_email_with_working_links_and_is_counted(
    start_service, mailbox, dev_keys, uid, infra
) -> None:
    service = await start_service("notification", **FAST)
    address = f"{uid}@example.co"
    events = samples.every_event(dev_keys.seal_public, address)
    events[0] = samples.user_registered(dev_keys.seal_public, address, link_code=f"guid-{uid}")
    # An undecodable message first: it is dead-lettered and the service goes on.
    topic = service.settings.topic("UserRegistered")
    await produce_raw(infra.kafka_bootstrap, topic, b"{not an event")
    for event in events:
        await produce(service, event)

    received = await mailbox.wait_for(address, count=len(events), timeout=60)
    subjects = {m["Subject"] for m in received}
    assert "Activación de su registro en SECOP" in subjects
    assert "Su caso 2026-000123 fue resuelto" in subjects

    (confirmation,) = [m for m in received if m["Subject"].startswith("Activación")]
    link = next(x for x in links_in(confirmation) if "/ConfirmAccount" in x)
    url = urlparse(link)
    assert f"{url.scheme}://{url.netloc}" == service.settings.public_base_url
    assert parse_qs(url.query)["ConfirmationGuid"] == [f"guid-{uid}"]
    assert "ana.perez" in confirmation["Text"]
    assert "nunca le solicitamos datos personales" in confirmation["HTML"]
    (reset,) = [m for m in received if "contraseña en SECOP" in m["Subject"]]
    assert f"{service.settings.public_base_url}/ChangePassword?token=reset-456" in links_in(reset)

    dead = await read_topic(infra.kafka_bootstrap, f"{topic}.DLT", at_least=1)
    assert dead[0].value == b"{not an event"

    sent = await read_topic(
        infra.kafka_bootstrap, service.settings.topic("EmailSent"), at_least=len(events)
    )
    payloads = [json.loads(r.value)["payload"] for r in sent]
    assert {p["recipient_domain"] for p in payloads} == {"example.co"}
    assert all(address not in r.value.decode() for r in sent)
    assert all(f"guid-{uid}" not in r.value.decode() for r in sent)

    r = await service.client.get("/deliveries", params={"recipient": address.upper()})
    assert r.status_code == 401
    r = await service.client.get(
        "/deliveries", params={"recipient": address.upper()}, headers=OPERATOR
    )
    assert r.status_code == 200, r.text
    listed = r.json()["deliveries"]
    assert len(listed) == len(events)
    assert {d["state"] for d in listed} == {"sent"}
    assert all(f"guid-{uid}" not in json.dumps(d) for d in listed)
    stored = await service.db["deliveries"].find({}).to_list()
    assert all(f"guid-{uid}" not in str(doc) for doc in stored)  # sealed at rest

    r = await service.client.get("/deliveries", params={"status": "bogus"}, headers=OPERATOR)
    assert r.status_code == 422
    r = await service.client.get("/deliveries", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401

    async def relay_done() -> bool:
        return (
            await service.db["deliveries"].count_documents({"_outbox_pending": {"$exists": True}})
            == 0
        )

    await eventually(relay_done, what="every EmailSent published")
