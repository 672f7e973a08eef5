"""The reliability mechanisms on the real broker and database.

Outbox (store and publish in one document write, relay with leases), idempotent at-least-once
consumption, and dead letters: what the architecture promises so nothing acknowledged is lost
or applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from membership.adapters.users import UserDirectory
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure
from secop_contracts.registration import UserRegistered
from secop_devinfra.infra import Endpoints
from secop_runtime import consumer as consumer_module
from secop_runtime.kafka import dead_letter_topic
from secop_runtime.outbox import OutboxRelay, new_document
from secop_runtime.service import ServiceRuntime
from secop_runtime.settings import ServiceSettings

from tests.support.events import user_registered
from tests.support.kafka import (
    probe_settings,
    produce_raw,
    produce_to_partitions,
    read_topic,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running(runtime: ServiceRuntime) -> AsyncIterator[ServiceRuntime]:
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def counting_consumer(
    infra: Endpoints,
    uid: str,
    fail_for: set[str] | None = None,
    settings: ServiceSettings | None = None,
) -> ServiceRuntime:
    """A consumer whose effect is NOT idempotent by itself ($inc): only dedup keeps it at 1."""
    runtime = ServiceRuntime(
        settings or probe_settings(infra, uid, "counter"), publishes=[], outbox_collections=[]
    )

    async def count(event: UserRegistered) -> None:
        if fail_for and str(event.payload.user_id) in fail_for:
            raise ValueError("this user cannot be handled")
        await runtime.db["applied"].update_one(
            {"_id": str(event.event_id)}, {"$inc": {"times": 1}}, upsert=True
        )

    runtime.subscribe([UserRegistered], count, "Count applications of each event.")
    return runtime


async def times_applied(runtime: ServiceRuntime, event_id: Any) -> int:
    doc = await runtime.db["applied"].find_one({"_id": str(event_id)})
    return int(doc["times"]) if doc else 0


async def test_an_event_stored_by_one_service_is_handled_by_another_services_group(
    infra: Endpoints, uid: str, start_service: Any
) -> None:
    membership = await start_service("membership")
    producer = ServiceRuntime(
        probe_settings(infra, uid, "registration"),
        publishes=[UserRegistered],
        outbox_collections=["users"],
    )
    event = user_registered()
    async with running(producer):
        await producer.db["users"].insert_one(
            new_document({"_id": str(event.payload.user_id), "username": "ana.perez"}, event)
        )
        users = UserDirectory(membership.db)
        user = await eventually(lambda: users.get(event.payload.user_id))
        stored = await producer.db["users"].find_one({"_id": str(event.payload.user_id)})
    assert user["email"] == "ana@example.co" and user["confirmed"] is False
    assert stored["_outbox"] == [] and "_outbox_pending" not in stored
    facts = await membership.db["user_facts"].count_documents({"_id": str(event.event_id)})
    assert facts == 1


async def test_an_event_stored_before_a_crash_is_published_later_and_applied_once(
    infra: Endpoints, uid: str
) -> None:
    settings = probe_settings(infra, uid, "registration")
    event = user_registered()
    # The "crash": the state change and its event were stored, and no relay ever ran.
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    await client[settings.database_name]["users"].insert_one(
        new_document({"_id": str(event.payload.user_id)}, event)
    )
    await client.close()

    consumer = counting_consumer(infra, uid)
    producer = ServiceRuntime(settings, publishes=[UserRegistered], outbox_collections=["users"])
    async with running(consumer), running(producer):
        await eventually(lambda: times_applied(consumer, event.event_id))
        await asyncio.sleep(1.0)  # room for any duplicate to show up
        assert await times_applied(consumer, event.event_id) == 1


async def test_a_crash_after_publishing_but_before_marking_republishes_and_applies_once(
    infra: Endpoints, uid: str
) -> None:
    settings = probe_settings(infra, uid, "registration")
    event = user_registered()
    consumer = counting_consumer(infra, uid)
    producer = ServiceRuntime(settings, publishes=[UserRegistered], outbox_collections=["users"])
    async with running(consumer), running(producer):
        await producer.relay.stop()  # type: ignore[union-attr]  # we drive the relay by hand
        users = producer.db["users"]
        await users.insert_one(new_document({"_id": str(event.payload.user_id)}, event))
        doc = await users.find_one({"_id": str(event.payload.user_id)})
        for item in doc["_outbox"]:  # published... then the process "dies" before removing it
            await producer._publish(item)
        await eventually(lambda: times_applied(consumer, event.event_id))

        relay = OutboxRelay(producer.db, ["users"], producer._publish, owner="restarted")
        assert await relay.drain() == 1  # the restarted relay publishes it again
        topic = settings.topic(UserRegistered.TOPIC)
        copies = [
            r
            for r in await read_topic(infra.kafka_bootstrap, topic, at_least=2)
            if str(event.event_id).encode() in r.value
        ]
        assert len(copies) == 2
        await asyncio.sleep(1.5)
        assert await times_applied(consumer, event.event_id) == 1
        assert (await users.find_one({"_id": str(event.payload.user_id)}))["_outbox"] == []


async def test_two_relays_never_publish_the_same_pending_document_concurrently(
    infra: Endpoints, uid: str
) -> None:
    settings = probe_settings(infra, uid, "registration")
    producer = ServiceRuntime(settings, publishes=[UserRegistered], outbox_collections=["users"])
    published: list[str] = []

    async def record(item: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        published.append(item["event_id"])

    async with running(producer):
        await producer.relay.stop()  # type: ignore[union-attr]
        events = [user_registered() for _ in range(30)]
        await producer.db["users"].insert_many(
            [new_document({"_id": str(e.payload.user_id)}, e) for e in events]
        )
        relays = [
            OutboxRelay(producer.db, ["users"], record, owner=f"r{i}", batch=4) for i in range(3)
        ]
        await asyncio.gather(*(r.drain() for r in relays))
    assert sorted(published) == sorted(str(e.event_id) for e in events)


async def test_a_poison_message_is_dead_lettered_and_the_consumer_goes_on(
    infra: Endpoints, uid: str
) -> None:
    consumer = counting_consumer(infra, uid)
    topic = consumer.settings.topic(UserRegistered.TOPIC)
    good = user_registered()
    async with running(consumer):
        await produce_raw(infra.kafka_bootstrap, topic, b"\x00 this is not an event")
        await produce_raw(infra.kafka_bootstrap, topic, b'{"event_type": "UserRegistered"}')
        await produce_raw(infra.kafka_bootstrap, topic, good.to_json())
        await eventually(lambda: times_applied(consumer, good.event_id))
        dead = await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=2)
    assert [r.value for r in dead] == [
        b"\x00 this is not an event",
        b'{"event_type": "UserRegistered"}',
    ]
    headers = dict(dead[0].headers)
    assert b"JSONDecodeError" in headers["dlt-error"] or b"Error" in headers["dlt-error"]
    assert headers["dlt-original-topic"] == topic.encode()
    assert headers["dlt-consumer-group"] == consumer.settings.consumer_group.encode()
    assert b"ValidationError" in dict(dead[1].headers)["dlt-error"]


async def test_an_event_with_a_forged_producer_or_a_future_time_is_dead_lettered(
    infra: Endpoints, uid: str
) -> None:
    consumer = counting_consumer(infra, uid)
    topic = consumer.settings.topic(UserRegistered.TOPIC)
    forged = user_registered(producer="notification")  # well-formed, but not registration's
    ahead = datetime.now(UTC) + timedelta(days=1)
    future = user_registered().model_copy(update={"occurred_at": ahead})
    good = user_registered()
    async with running(consumer):
        for event in (forged, future, good):
            await produce_raw(infra.kafka_bootstrap, topic, event.to_json())
        await eventually(lambda: times_applied(consumer, good.event_id))
        dead = await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=2)
        assert await times_applied(consumer, forged.event_id) == 0
        assert await times_applied(consumer, future.event_id) == 0
    assert [r.value for r in dead] == [forged.to_json(), future.to_json()]
    errors = [dict(r.headers)["dlt-error"] for r in dead]
    assert b"must be produced by registration, not 'notification'" in errors[0]
    assert b"occurred_at lies in the future" in errors[1]


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_its_attempts(
    infra: Endpoints, uid: str
) -> None:
    bad, good = user_registered(), user_registered()
    consumer = counting_consumer(infra, uid, fail_for={str(bad.payload.user_id)})
    topic = consumer.settings.topic(UserRegistered.TOPIC)
    async with running(consumer):
        await produce_raw(infra.kafka_bootstrap, topic, bad.to_json())
        await produce_raw(infra.kafka_bootstrap, topic, good.to_json())
        await eventually(lambda: times_applied(consumer, good.event_id))
        dead = await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=1)
        assert await times_applied(consumer, bad.event_id) == 0
    assert dead[0].value == bad.to_json()
    assert b"this user cannot be handled" in dict(dead[0].headers)["dlt-error"]


async def test_an_event_our_bookkeeping_cannot_finish_is_dead_lettered_not_skipped(
    infra: Endpoints, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler succeeded but the processed mark was refused (not an outage): the message is
    committed past only once it is safe in the dead-letter topic, and the next one is handled."""
    stuck, good = user_registered(), user_registered()
    real_mark = consumer_module.Inbox.mark

    async def refusing_mark(self: Any, event: Any) -> None:
        if event.event_id == stuck.event_id:
            raise OperationFailure("document failed validation", code=121)
        await real_mark(self, event)

    monkeypatch.setattr(consumer_module.Inbox, "mark", refusing_mark)
    consumer = counting_consumer(infra, uid)
    topic = consumer.settings.topic(UserRegistered.TOPIC)
    async with running(consumer):
        await produce_raw(infra.kafka_bootstrap, topic, stuck.to_json())
        await produce_raw(infra.kafka_bootstrap, topic, good.to_json())
        await eventually(lambda: times_applied(consumer, good.event_id))
        dead = await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=1)
    assert [r.value for r in dead] == [stuck.to_json()]
    assert dict(dead[0].headers)["dlt-error"].startswith(b"OperationFailure")


async def test_a_batch_keeps_each_partitions_order_and_a_stuck_record_holds_only_its_own(
    infra: Endpoints, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three partitions are applied side by side, each in order. A record that can be neither
    applied nor dead-lettered (the dead-letter topic refused, not an outage) stops its own
    partition there: it is read again and dead-lettered, nothing after it is skipped, and the
    other partitions go on. A restarted consumer finds everything committed."""
    stuck = user_registered()
    events = [user_registered() for _ in range(24)]
    events[7] = stuck
    partition_of = {e.event_id: i % 3 for i, e in enumerate(events)}
    applied: list[Any] = []
    refusals = 0
    real_dead_letter_topic = consumer_module.dead_letter_topic

    def refusing_once(topic: str) -> str:
        nonlocal refusals
        if refusals == 0:
            refusals += 1
            raise RuntimeError("the dead-letter topic is refused")
        return real_dead_letter_topic(topic)

    monkeypatch.setattr(consumer_module, "dead_letter_topic", refusing_once)

    def recording_consumer() -> ServiceRuntime:
        settings = probe_settings(infra, uid, "ordered", partitions=3)
        runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])

        async def record(event: UserRegistered) -> None:
            if event.event_id == stuck.event_id:
                raise ValueError("this one cannot be applied")
            applied.append(event.event_id)

        # No processed marks: a record applied twice would show in ``applied``.
        runtime.subscribe(
            [UserRegistered], record, "Record the order of application.", keyed_by_event=True
        )
        return runtime

    consumer = recording_consumer()
    topic = consumer.settings.topic(UserRegistered.TOPIC)
    await produce_to_partitions(
        infra.kafka_bootstrap,
        topic,
        [(e.to_json(), partition_of[e.event_id]) for e in events],
        partitions=3,
    )

    good = [e.event_id for e in events if e is not stuck]

    async def applied_at_least(n: int) -> bool:
        return len(applied) >= n

    async with running(consumer):
        await eventually(lambda: applied_at_least(len(good)), timeout=60)
        dead = await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=1)
    assert refusals == 1
    assert [r.value for r in dead] == [stuck.to_json()]
    assert sorted(map(str, applied)) == sorted(map(str, good))  # each exactly once
    for p in range(3):
        sent = [i for i in good if partition_of[i] == p]
        assert [i for i in applied if partition_of[i] == p] == sent  # in order

    late = user_registered()
    await produce_raw(infra.kafka_bootstrap, topic, late.to_json())
    async with running(recording_consumer()):
        await eventually(lambda: applied_at_least(len(good) + 1), timeout=60)
    assert applied[len(good) :] == [late.event_id]  # nothing before it came again


async def test_a_bulk_route_applies_a_partitions_records_at_once_and_falls_back_per_record(
    infra: Endpoints, uid: str
) -> None:
    """A route with a bulk handler gets a partition's records of a batch in one call; a batch
    holding a record that is not an event goes one by one, so that record alone is
    dead-lettered and every event is still applied."""
    settings = probe_settings(infra, uid, "bulk", partitions=3)
    runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])
    together: list[list[Any]] = []
    alone: list[Any] = []

    async def one(event: UserRegistered) -> None:
        alone.append(event.event_id)

    async def many(events: Sequence[UserRegistered]) -> None:
        together.append([e.event_id for e in events])

    runtime.subscribe(
        [UserRegistered], one, "Record how events arrive.", keyed_by_event=True, bulk=many
    )
    topic = settings.topic(UserRegistered.TOPIC)
    events = [user_registered() for _ in range(18)]
    poison = b"{ not an event"
    records = [(e.to_json(), i % 3) for i, e in enumerate(events)]
    records.insert(7, (poison, 0))  # on partition 0, after events[6]
    await produce_to_partitions(infra.kafka_bootstrap, topic, records, partitions=3)

    async def all_applied() -> bool:
        return len(alone) + sum(map(len, together)) >= len(events)

    async with running(runtime):
        await eventually(all_applied, timeout=60)
        dead = await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=1)
    applied = alone + [i for call in together for i in call]
    assert sorted(map(str, applied)) == sorted(str(e.event_id) for e in events)  # once each
    assert any(len(call) > 1 for call in together)  # partitions without the poison: at once
    assert [r.value for r in dead] == [poison]
    assert {e.event_id for e in events[0::3]} & set(alone)  # the poison's batch: one by one


async def test_a_batch_out_of_time_commits_what_it_applied_and_reads_the_rest_again(
    infra: Endpoints, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slow handlers must not hold a batch past the poll interval: with no time budget at all,
    each batch applies one record per partition, and every event still comes once, in order."""
    monkeypatch.setattr(consumer_module, "BATCH_BUDGET_S", 0.0)
    settings = probe_settings(infra, uid, "slow", partitions=3)
    runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])
    applied: list[Any] = []

    async def record(event: UserRegistered) -> None:
        applied.append(event.event_id)

    # No processed marks: a record applied twice would show in ``applied``.
    runtime.subscribe(
        [UserRegistered], record, "Record the order of application.", keyed_by_event=True
    )
    topic = settings.topic(UserRegistered.TOPIC)
    events = [user_registered() for _ in range(15)]
    await produce_to_partitions(
        infra.kafka_bootstrap,
        topic,
        [(e.to_json(), i % 3) for i, e in enumerate(events)],
        partitions=3,
    )

    async def all_applied() -> bool:
        return len(applied) >= len(events)

    async with running(runtime):
        await eventually(all_applied, timeout=60)
        await asyncio.sleep(1.0)  # room for a repeat to show up
    assert len(applied) == len(events)
    for p in range(3):
        assert [i for i in applied if i in {e.event_id for e in events[p::3]}] == [
            e.event_id for e in events[p::3]
        ]


async def test_relay_scans_back_off_while_they_find_nothing_and_return_when_they_do(
    infra: Endpoints, uid: str
) -> None:
    """Hints publish everything in steady state, and on FerretDB each scan reads every document,
    so empty scans space out; a document no hint announced (a crash, another process) is still
    found, and scans come back to the base interval."""
    settings = probe_settings(infra, uid, "registration")
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    db = client[settings.database_name]
    scans: list[tuple[float, int]] = []
    published: list[str] = []

    class CountingRelay(OutboxRelay):
        async def drain(self, older_than: timedelta = timedelta(0)) -> int:
            found = await super().drain(older_than)
            scans.append((asyncio.get_running_loop().time(), found))
            return found

    async def record(item: dict[str, Any]) -> None:
        published.append(item["event_id"])

    relay = CountingRelay(
        db,
        ["users"],
        record,
        owner="scanner",
        poll_interval_s=0.05,
        scan_interval_s=0.2,
        scan_interval_max_s=1.6,
        scan_grace_s=0,
    )
    relay.start()
    try:
        await asyncio.sleep(3.0)
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(scans)]
        assert len(scans) <= 6, gaps  # 0.4, 0.8, 1.6 apart, not every 0.2 s (15 scans)
        assert gaps[-1] >= 1.0, gaps

        event = user_registered()  # stored without a hint: only a scan can find it
        await db["users"].insert_one(new_document({"_id": str(event.payload.user_id)}, event))

        async def scanned_after_finding() -> bool:
            hits = [i for i, (_, found) in enumerate(scans) if found]
            return bool(hits) and len(scans) > hits[0] + 1

        await eventually(scanned_after_finding, timeout=15)
        assert published == [str(event.event_id)]
        hit = next(i for i, (_, found) in enumerate(scans) if found)
        assert scans[hit + 1][0] - scans[hit][0] < 1.0  # back to the base interval
    finally:
        await relay.stop()
        await client.close()
