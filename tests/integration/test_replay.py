"""Replaying a dead-letter topic after a fix (``python -m secop_runtime.replay``) on the real
broker and database: a handler with a bug dead-letters an event; once fixed, the replay brings it
back and it is applied exactly once, by the group that failed it only; a second replay, a dry run
and a forged event publish nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import TopicAuthorizationFailedError
from secop_contracts.registration import UserRegistered
from secop_devinfra.infra import Endpoints
from secop_runtime import replay
from secop_runtime.kafka import dead_letter_topic
from secop_runtime.service import ServiceRuntime
from secop_runtime.settings import ServiceSettings

from tests.support.events import user_registered
from tests.support.kafka import (
    create_topic,
    grant,
    options_for,
    probe_settings,
    produce_raw,
    read_topic,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

PARTITIONS = 3


def settings_of(infra: Endpoints, uid: str, name: str) -> ServiceSettings:
    """A probe consumer's settings, or the tool's: the admin principal, the test's prefix."""
    return probe_settings(infra, uid, name, PARTITIONS, consumer_max_attempts=2)


def counter(infra: Endpoints, uid: str, name: str, bug_for: Collection[Any] = ()) -> ServiceRuntime:
    """A consumer group whose effect is not idempotent by itself ($inc): only the dedupe by
    event id keeps each count at 1. ``bug_for``: the events its handler fails on."""
    runtime = ServiceRuntime(settings_of(infra, uid, name), publishes=[], outbox_collections=[])

    async def count(event: UserRegistered) -> None:
        if event.event_id in bug_for:
            raise KeyError("a bug: the handler cannot take this event")
        await runtime.db["applied"].update_one(
            {"_id": str(event.event_id)}, {"$inc": {"times": 1}}, upsert=True
        )

    runtime.subscribe([UserRegistered], count, "Count each event's applications.")
    return runtime


@contextlib.asynccontextmanager
async def running(*runtimes: ServiceRuntime) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for runtime in runtimes:
            await runtime.start()
            stack.push_async_callback(runtime.stop)
        yield


async def times_applied(runtime: ServiceRuntime, event_id: Any) -> int:
    doc = await runtime.db["applied"].find_one({"_id": str(event_id)})
    return int(doc["times"]) if doc else 0


async def run(infra: Endpoints, uid: str, *argv: str) -> tuple[int, str]:
    """The command as an operator runs it (in a thread: it is synchronous); its code and output."""
    out = io.StringIO()
    code = await asyncio.to_thread(replay.main, list(argv), settings_of(infra, uid, "replay"), out)
    return code, out.getvalue()


async def record_count(infra: Endpoints, topic: str) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.kafka_bootstrap, **options_for(infra.kafka_bootstrap)
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def replayed_records(infra: Endpoints, topic: str) -> list[Any]:
    """Every record on ``topic`` that a replay put there."""
    records = await read_topic(
        infra.kafka_bootstrap, topic, at_least=await record_count(infra, topic)
    )
    return [r for r in records if replay.REPLAY_OF in dict(r.headers)]


async def send(infra: Endpoints, topic: str, events: Sequence[UserRegistered]) -> None:
    """As the relay publishes: keyed by the aggregate (the user)."""
    for event in events:
        key = str(event.payload.user_id).encode()
        await produce_raw(infra.kafka_bootstrap, topic, event.to_json(), key=key)


async def parked(infra: Endpoints, topic: str, count: int) -> list[Any]:
    return await read_topic(infra.kafka_bootstrap, dead_letter_topic(topic), at_least=count)


async def test_after_the_fix_a_replay_applies_the_dead_lettered_event_once_and_only_once(
    infra: Endpoints, uid: str
) -> None:
    bad, good = user_registered(), user_registered()
    buggy = counter(infra, uid, "counter", bug_for={bad.event_id})
    bystander = counter(infra, uid, "ledger")  # another group: it applied ``bad`` fine
    topic = buggy.settings.topic(UserRegistered.TOPIC)
    async with running(buggy, bystander):
        await send(infra, topic, [bad, good])
        await eventually(lambda: times_applied(buggy, good.event_id))
        await eventually(lambda: times_applied(bystander, bad.event_id))
        [letter] = await parked(infra, topic, 1)
        assert await times_applied(buggy, bad.event_id) == 0

    code, listed = await run(infra, uid, "list", "UserRegistered.DLT")
    assert code == 0
    assert f"pending\t{letter.partition}@{letter.offset}\t" in listed
    assert f"{uid}.counter\tUserRegistered\t{bad.event_id}\tKeyError" in listed
    assert "ana@example.co" not in listed and "Ana" not in listed  # never the payload

    before = await record_count(infra, topic)
    code, dry = await run(infra, uid, "replay", "--topic", "UserRegistered", "--dry-run")
    assert code == 0
    assert f"would-replay\t{letter.partition}@{letter.offset}" in dry
    assert "1 to replay" in dry
    assert await record_count(infra, topic) == before  # a dry run publishes nothing

    fixed = counter(infra, uid, "counter")  # "the fix", deployed under the same group
    ledger = counter(infra, uid, "ledger")
    async with running(fixed, ledger):
        code, out = await run(infra, uid, "replay", "--topic", "UserRegistered")
        assert code == 0 and "1 replayed" in out
        await eventually(lambda: times_applied(fixed, bad.event_id))
        code, again = await run(infra, uid, "replay", "--topic", "UserRegistered")
        assert code == 0 and "0 replayed" in again and "1 already replayed" in again
        await asyncio.sleep(2.0)  # room for a second application or a new dead letter
        assert await times_applied(fixed, bad.event_id) == 1
        assert await times_applied(ledger, bad.event_id) == 1  # it skipped it by event_id
        assert await times_applied(fixed, good.event_id) == 1
    assert await record_count(infra, topic) == before + 1  # the second replay added nothing
    [copy] = await replayed_records(infra, topic)
    assert (
        (copy.key, copy.value)
        == (letter.key, letter.value)
        == (
            str(bad.payload.user_id).encode(),
            bad.to_json(),
        )
    )
    headers = dict(copy.headers)
    where = f"{dead_letter_topic(topic)}:{letter.partition}:{letter.offset}".encode()
    assert headers[replay.REPLAY_OF] == where
    assert not any(name.startswith("dlt-") for name in headers)
    # The aggregate's own partition, where the original was: its order with later events holds.
    assert str(copy.partition).encode() == dict(letter.headers)["dlt-original-partition"]
    code, listed = await run(infra, uid, "list", "UserRegistered.DLT")
    assert f"replayed\t{letter.partition}@{letter.offset}\t" in listed


async def test_group_selects_whose_dead_letters_go_and_each_groups_progress_is_its_own(
    infra: Endpoints, uid: str
) -> None:
    bad = user_registered()
    first = counter(infra, uid, "counter", bug_for={bad.event_id})
    second = counter(infra, uid, "ledger", bug_for={bad.event_id})
    topic = first.settings.topic(UserRegistered.TOPIC)
    async with running(first, second):
        await send(infra, topic, [bad])
        letters = await parked(infra, topic, 2)
    group = f"{uid}.counter".encode()
    mine = next(r for r in letters if dict(r.headers)["dlt-consumer-group"] == group)
    theirs = next(r for r in letters if r is not mine)

    code, out = await run(infra, uid, "replay", "--topic", "UserRegistered", "--group", "counter")
    assert code == 0 and "1 replayed" in out
    [copy] = await replayed_records(infra, topic)
    where = f"{dead_letter_topic(topic)}:{mine.partition}:{mine.offset}".encode()
    assert dict(copy.headers)[replay.REPLAY_OF] == where

    code, listed = await run(infra, uid, "list", "UserRegistered", "--group", "ledger")
    assert f"pending\t{theirs.partition}@{theirs.offset}" in listed
    assert f"{mine.partition}@{mine.offset}" not in listed
    code, out = await run(infra, uid, "replay", "--topic", "UserRegistered", "--dry-run")
    assert f"already-replayed\t{mine.partition}@{mine.offset}" in out
    assert f"would-replay\t{theirs.partition}@{theirs.offset}" in out


async def test_a_narrowed_replay_leaves_the_rest_for_later_and_nothing_goes_twice(
    infra: Endpoints, uid: str
) -> None:
    """``--event-id`` replays one dead letter from the middle; a later full replay sends the
    others and not that one again (the gap is remembered in the progress' commit)."""
    bad = [user_registered() for _ in range(5)]
    buggy = counter(infra, uid, "counter", bug_for={e.event_id for e in bad})
    topic = buggy.settings.topic(UserRegistered.TOPIC)
    async with running(buggy):
        await send(infra, topic, bad)
        await parked(infra, topic, len(bad))

    code, out = await run(
        infra, uid, "replay", "UserRegistered", "--event-id", str(bad[2].event_id)
    )
    assert code == 0 and "1 replayed" in out
    code, out = await run(infra, uid, "replay", "UserRegistered")
    assert code == 0 and f"{len(bad) - 1} replayed" in out and "1 already replayed" in out
    code, out = await run(infra, uid, "replay", "UserRegistered")
    assert code == 0 and "0 replayed" in out and f"{len(bad)} already replayed" in out
    copies = await replayed_records(infra, topic)
    assert sorted(c.value for c in copies) == sorted(e.to_json() for e in bad)  # once each
    for copy in copies:  # every aggregate's partition kept
        event = next(e for e in bad if e.to_json() == copy.value)
        assert copy.key == str(event.payload.user_id).encode()
    everything = await read_topic(infra.kafka_bootstrap, topic, at_least=len(bad) * 2)
    originals = {
        r.value: r.partition for r in everything if replay.REPLAY_OF not in dict(r.headers)
    }
    assert all(originals[c.value] == c.partition for c in copies)

    unknown = "00000000-0000-4000-8000-000000000000"
    code, _ = await run(infra, uid, "replay", "UserRegistered", "--event-id", unknown)
    assert code == 2  # not on the dead-letter topic


async def test_a_forged_producers_dead_letter_is_refused_unless_forced(
    infra: Endpoints, uid: str
) -> None:
    forged = user_registered(producer="notification")  # well-formed, not registration's
    consumer = counter(infra, uid, "counter")
    topic = consumer.settings.topic(UserRegistered.TOPIC)
    async with running(consumer):
        await send(infra, topic, [forged])
        await parked(infra, topic, 1)
        before = await record_count(infra, topic)

        code, out = await run(infra, uid, "replay", "--topic", "UserRegistered")
        assert code == 1  # partial: something selected was not replayed
        assert "refused: forged: its producer 'notification' is not registration" in out
        assert "would be again" in out and "0 replayed" in out and "1 refused" in out
        assert await record_count(infra, topic) == before

        code, out = await run(infra, uid, "replay", "--topic", "UserRegistered", "--force")
        assert code == 0 and "1 replayed" in out and "forced: forged" in out
        # ... and, as said, the consumer dead-letters it again.
        await parked(infra, topic, 2)
        assert await times_applied(consumer, forged.event_id) == 0
    assert await record_count(infra, topic) == before + 1

    code, _ = await run(infra, uid, "list", "UserConfirmed.DLT")
    assert code == 2  # no such topic under this prefix: said, not an empty list


async def test_a_dead_letter_a_consumer_wrote_is_never_published_as_the_owners_event(
    infra: Endpoints, uid: str
) -> None:
    """Membership reads UserRegistered, so it may write UserRegistered.DLT, never
    UserRegistered. A well-formed event "of registration" that it parks there itself, naming a
    real record's place or none, must not reach UserRegistered through the admin's replay."""
    prefix = f"{uid}."
    topic, dlt = f"{prefix}{UserRegistered.TOPIC}", dead_letter_topic(f"{prefix}UserRegistered")
    genuine, forged = user_registered(), user_registered()  # both say producer 'registration'
    await create_topic(infra.kafka_bootstrap, topic, PARTITIONS)
    await create_topic(infra.kafka_bootstrap, dlt, 1)
    await send(infra, topic, [genuine])
    [there] = await read_topic(infra.kafka_bootstrap, topic)
    grant(infra, prefix, "membership")
    membership = options_for(infra.kafka_bootstrap, "membership")
    if infra.kafka_secrets is not None:  # the ACLs keep it off the owner's topic
        with pytest.raises(TopicAuthorizationFailedError):
            await produce_raw(infra.kafka_bootstrap, topic, forged.to_json(), **membership)
    key = str(forged.payload.user_id).encode()
    place = [
        ("dlt-original-partition", str(there.partition).encode()),
        ("dlt-original-offset", str(there.offset).encode()),
    ]
    for named in (place, []):
        headers = [("dlt-original-topic", topic.encode()), *named]
        headers.append(("dlt-consumer-group", f"{prefix}notification".encode()))
        await produce_raw(
            infra.kafka_bootstrap, dlt, forged.to_json(), key=key, headers=headers, **membership
        )
    before = await record_count(infra, topic)

    code, out = await run(infra, uid, "replay", "--topic", "UserRegistered")
    assert code == 1 and "0 replayed" in out and "2 refused" in out
    assert f"not the record at {there.partition}@{there.offset} on {topic}" in out
    assert f"no record with its key and value on {topic}" in out
    assert await record_count(infra, topic) == before


async def test_the_projectors_dead_letters_go_back_to_the_event_topic(
    infra: Endpoints, uid: str
) -> None:
    """The projector parks what it cannot copy on ``analytics.<Event>.DLT`` as it came, with
    no headers; replayed, it goes to ``<Event>`` for the (fixed) projector to copy. Only what
    the event topic holds goes: the projector may write every such topic, so a record of its
    own making there is refused."""
    event, made_up = user_registered(), user_registered()
    topic = f"{uid}.{UserRegistered.TOPIC}"
    dlt = f"{uid}.analytics.{UserRegistered.TOPIC}.DLT"
    key = str(event.payload.user_id).encode()
    await create_topic(infra.kafka_bootstrap, dlt, 1)
    await create_topic(infra.kafka_bootstrap, topic, PARTITIONS)
    await send(infra, topic, [event])  # the owner's record, which the projector could not copy
    grant(infra, f"{uid}.", "projector")
    projector = options_for(infra.kafka_bootstrap, "projector")
    await produce_raw(infra.kafka_bootstrap, dlt, event.to_json(), key=key, **projector)
    made_up_key = str(made_up.payload.user_id).encode()
    await produce_raw(infra.kafka_bootstrap, dlt, made_up.to_json(), key=made_up_key, **projector)

    code, listed = await run(infra, uid, "list", "analytics.UserRegistered.DLT")
    assert code == 0 and "pending\t0@0\t" in listed and f"{uid}.projector" in listed
    code, out = await run(infra, uid, "replay", "--topic", "analytics.UserRegistered")
    assert code == 1 and "1 replayed" in out and "1 refused" in out
    assert "refused\t0@1\t" in out and "no record with its key and value" in out
    [copy] = await replayed_records(infra, topic)
    assert (copy.key, copy.value) == (key, event.to_json())
    assert dict(copy.headers)[replay.REPLAY_OF] == f"{dlt}:0:0".encode()
