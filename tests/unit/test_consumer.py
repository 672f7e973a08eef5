"""The batch consumer's bookkeeping, without a broker or database: which offsets a batch commits,
where each partition reads again, when bulk handlers give way to one-by-one, what a dead letter
carries. ``tests/integration/test_reliability.py`` runs the same paths against real Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
from faststream.message import AckStatus
from secop_contracts.registration import UserRegistered
from secop_runtime import consumer as consumer_module
from secop_runtime.consumer import BatchConsumer, Route, _Progress, _settle
from secop_runtime.errors import Contended
from secop_runtime.kafka import dead_letter_topic
from secop_runtime.settings import ServiceSettings

from tests.support.events import user_registered

pytestmark = pytest.mark.unit

TOPIC = UserRegistered.TOPIC


def record(partition: int, offset: int, value: bytes = b"{}", topic: str = TOPIC) -> Any:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"key", value, None, 3, len(value), ())


class FakeKafkaConsumer:
    """Records commits and seeks; refuses to seek a partition a rebalance took."""

    def __init__(self, revoked: Sequence[TopicPartition] = ()) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: dict[TopicPartition, int] = {}
        self.revoked = set(revoked)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition in self.revoked:
            raise IllegalStateError("no longer assigned")
        self.seeks[partition] = offset


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[tuple[bytes, str, Any, dict[str, str]]] = []

    async def publish(self, value: bytes, topic: str, *, key: Any, headers: Any) -> None:
        self.published.append((value, topic, key, headers))


class Recording(BatchConsumer):
    """Applies by recording (no database); a record in ``refuse`` can be neither applied nor
    dead-lettered."""

    def __init__(self, routes: dict[str, Route], refuse: Sequence[tuple[int, int]] = ()) -> None:
        super().__init__(FakeBroker(), ServiceSettings(service_name="probe"), _no_db, routes)  # type: ignore[arg-type]
        self.applied: list[tuple[int, int]] = []
        self.refuse = set(refuse)

    async def apply(self, record: ConsumerRecord) -> None:
        if (record.partition, record.offset) in self.refuse:
            raise RuntimeError(f"stuck at {record.partition}/{record.offset}")
        self.applied.append((record.partition, record.offset))


def _no_db() -> Any:
    raise AssertionError("no database in these tests")


async def _ignore(event: Any) -> None:
    return None


def route(bulk: Any = None) -> Route:
    return Route(UserRegistered, _ignore, "probe", keyed_by_event=True, bulk=bulk)


def batch_message(records: list[Any], kafka: FakeKafkaConsumer) -> Any:
    return SimpleNamespace(raw_message=tuple(records), consumer=kafka, committed=None)


async def test_a_batch_commits_each_partition_only_as_far_as_it_got_and_rewinds_the_rest() -> None:
    done, stuck, stuck_first = (TopicPartition(TOPIC, p) for p in range(3))
    # Offsets may have gaps (compaction, transaction markers): a commit is one past the last
    # record applied, not the stuck record's offset.
    records = [record(0, 10), record(1, 5), record(2, 3), record(0, 11), record(1, 7)]
    records += [record(2, 4), record(0, 12), record(1, 8)]
    consumer = Recording({TOPIC: route()}, refuse=[(1, 7), (2, 3)])
    kafka = FakeKafkaConsumer()
    msg = batch_message(records, kafka)

    with pytest.raises(RuntimeError, match="stuck at 1/7"):  # the first partition's error
        await consumer.on_batch([], msg)

    in_order = {p: [o for q, o in consumer.applied if q == p] for p in range(3)}
    assert in_order == {0: [10, 11, 12], 1: [5], 2: []}
    assert kafka.commits == [{done: 13, stuck: 6}]  # nothing of partition 2 got through
    assert kafka.seeks == {stuck: 7, stuck_first: 3}
    assert msg.committed == AckStatus.ACKED  # FastStream neither acks nor nacks it again


async def test_a_batch_that_went_through_commits_once_and_rewinds_nothing() -> None:
    consumer = Recording({TOPIC: route()})
    kafka = FakeKafkaConsumer()
    await consumer.on_batch([], batch_message([record(0, 1), record(1, 7), record(0, 2)], kafka))
    assert kafka.commits == [{TopicPartition(TOPIC, 0): 3, TopicPartition(TOPIC, 1): 8}]
    assert kafka.seeks == {}


async def test_out_of_time_each_partition_applies_one_record_and_reads_the_rest_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "BATCH_BUDGET_S", -1.0)
    consumer = Recording({TOPIC: route()})
    kafka = FakeKafkaConsumer(revoked=[TopicPartition(TOPIC, 1)])
    records = [record(0, 1), record(0, 2), record(1, 7), record(1, 8), record(1, 9)]
    await consumer.on_batch([], batch_message(records, kafka))  # no error: just out of time
    assert sorted(consumer.applied) == [(0, 1), (1, 7)]
    assert kafka.commits == [{TopicPartition(TOPIC, 0): 2, TopicPartition(TOPIC, 1): 8}]
    assert kafka.seeks == {TopicPartition(TOPIC, 0): 2}  # partition 1 went to another member


def test_a_partition_that_was_cancelled_is_read_again_from_its_first_record() -> None:
    first, second = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    batch = {first: [record(0, 4), record(0, 5)], second: [record(1, 9)]}
    cancelled = asyncio.CancelledError()
    settled = _settle(batch, [cancelled, _Progress(10)])
    assert settled.offsets == {second: 10}
    assert settled.rewind == {first: 4}
    assert settled.errors == [cancelled]


async def test_a_bulk_route_takes_a_partitions_records_in_one_call() -> None:
    calls: list[list[Any]] = []

    async def bulk(events: Sequence[Any]) -> None:
        calls.append([e.event_id for e in events])

    events = [user_registered() for _ in range(3)]
    consumer = Recording({TOPIC: route(bulk)})
    records = [record(0, i, e.to_json()) for i, e in enumerate(events)]
    progress = await consumer.apply_partition(records, deadline=float("inf"))
    assert calls == [[e.event_id for e in events]]
    assert consumer.applied == []
    assert progress == _Progress(3)


@pytest.mark.parametrize("failure", ["a record is not an event", "the bulk call fails"])
async def test_a_bulk_route_falls_back_to_one_by_one(failure: str) -> None:
    async def bulk(events: Sequence[Any]) -> None:
        raise RuntimeError("bulk refused")

    async def accepting(events: Sequence[Any]) -> None:
        calls.append(events)  # a batch with a bad record must not reach it

    calls: list[Sequence[Any]] = []
    values = [user_registered().to_json(), user_registered().to_json()]
    if failure == "a record is not an event":
        values[1] = b"not json"
    consumer = Recording({TOPIC: route(bulk if failure == "the bulk call fails" else accepting)})
    progress = await consumer.apply_partition(
        [record(0, 20, values[0]), record(0, 21, values[1])], deadline=float("inf")
    )
    assert calls == []
    assert consumer.applied == [(0, 20), (0, 21)]
    assert progress == _Progress(22)


async def test_a_single_record_skips_the_bulk_handler() -> None:
    calls: list[Sequence[Any]] = []

    async def bulk(events: Sequence[Any]) -> None:
        calls.append(events)

    consumer = Recording({TOPIC: route(bulk)})
    value = user_registered().to_json()
    progress = await consumer.apply_partition([record(0, 5, value)], deadline=float("inf"))
    assert calls == []
    assert consumer.applied == [(0, 5)]
    assert progress == _Progress(6)


@pytest.mark.parametrize(
    ("topic", "value", "error"),
    [
        (TOPIC, b"not json", "JSONDecodeError"),
        ("elsewhere.unknown", b"{}", "UnknownEventError: no handler for topic"),
    ],
)
async def test_a_message_that_is_not_our_event_is_dead_lettered_with_where_it_came_from(
    topic: str, value: bytes, error: str
) -> None:
    consumer = BatchConsumer(
        FakeBroker(),  # type: ignore[arg-type]
        ServiceSettings(service_name="probe"),
        _no_db,
        {TOPIC: route()},
    )
    await consumer.apply(record(2, 41, value, topic=topic))
    [(published, dlt, key, headers)] = consumer.broker.published  # type: ignore[attr-defined]
    assert (published, dlt, key) == (value, dead_letter_topic(topic), b"key")
    assert headers["dlt-error"].startswith(error)
    assert headers["dlt-original-topic"] == topic
    assert headers["dlt-original-partition"] == "2"
    assert headers["dlt-original-offset"] == "41"
    assert headers["dlt-consumer-group"] == "probe"


async def test_a_dead_letter_keeps_the_records_identity_and_trace_and_nothing_forged() -> None:
    """A replay forwards the dead letter's headers: its trace continues, and a ``dlt-*`` header
    the writer put on the original cannot pass for ours."""
    consumer = BatchConsumer(
        FakeBroker(),  # type: ignore[arg-type]
        ServiceSettings(service_name="probe"),
        _no_db,
        {TOPIC: route()},
    )
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = (
        ("event_id", b"e-1"),
        ("traceparent", parent.encode()),
        ("dlt-consumer-group", b"someone-else"),
        ("x-other", b"dropped"),
    )
    raw = ConsumerRecord(TOPIC, 0, 7, 0, 0, b"key", b"not json", None, 3, 8, headers)
    await consumer.apply(raw)
    [(_, _, _, sent)] = consumer.broker.published  # type: ignore[attr-defined]
    assert sent["traceparent"] == parent and sent["event_id"] == "e-1"
    assert sent["dlt-consumer-group"] == "probe"
    assert "x-other" not in sent


async def test_a_contended_aggregate_is_waited_out_never_dead_lettered() -> None:
    """Others kept changing the aggregate (``Contended``): nothing was applied, so the handler
    runs again, past the attempt budget, instead of parking a decision on the dead letters."""
    settings = ServiceSettings(
        service_name="probe", consumer_max_attempts=2, consumer_retry_backoff_s=0.001
    )
    refusals = 5

    async def busy(event: Any) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise Contended("it was being changed by someone else at the same time: try again")

    broker = FakeBroker()
    consumer = BatchConsumer(broker, settings, _no_db, {})  # type: ignore[arg-type]
    routed = Route(UserRegistered, busy, "probe")
    assert await consumer.run_handler(record(0, 1), routed, user_registered()) is True
    assert refusals == 0 and broker.published == []
