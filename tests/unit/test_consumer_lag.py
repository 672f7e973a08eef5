"""``secop_consumer_lag`` names only the partitions an instance still reads: after a rebalance
took one away, its last value must not stay exported by the instance that lost it (the
largest value per partition wins in the rules, and an instance reporting lag while handling
nothing reads as a stalled consumer)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY
from secop_contracts.registration import UserRegistered
from secop_runtime import metrics
from secop_runtime.consumer import BatchConsumer, Route
from secop_runtime.settings import ServiceSettings

pytestmark = pytest.mark.unit

TOPIC = "lagprobe.UserRegistered"


def _lag(partition: int) -> float | None:
    labels = {"topic": TOPIC, "partition": str(partition)}
    return REGISTRY.get_sample_value("secop_consumer_lag", labels)


class DeclaringBroker:
    """Keeps what the consumer declares (no broker is started)."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def subscriber(self, *topics: str, **options: Any) -> Callable[[Any], Any]:
        self.options = options
        return lambda handler: handler


class KafkaConsumer:
    """Commits, a partition's end as last fetched, and what the group assigned."""

    def __init__(self, assigned: set[TopicPartition], ends: dict[TopicPartition, int]) -> None:
        self.assigned, self.ends = assigned, ends

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        return None

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends.get(partition)

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        return None


class Applying(BatchConsumer):
    async def apply(self, record: ConsumerRecord) -> None:
        return None


async def _ignore(event: Any) -> None:
    return None


def _consumer(broker: Any) -> BatchConsumer:
    route = Route(UserRegistered, _ignore, "probe", keyed_by_event=True)
    settings = ServiceSettings(service_name="lagprobe")
    return Applying(broker, settings, lambda: None, {TOPIC: route})  # type: ignore[arg-type,return-value]


def _record(partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, b"k", b"{}", None, 1, 2, ())


async def test_a_partition_taken_away_by_a_rebalance_is_no_longer_reported() -> None:
    broker = DeclaringBroker()
    consumer = _consumer(broker)
    consumer.subscribe()
    kept, lost = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    kafka = KafkaConsumer({kept, lost}, {kept: 20, lost: 900})
    msg = SimpleNamespace(raw_message=(_record(0, 9), _record(1, 99)), consumer=kafka)
    await consumer.on_batch([], msg)  # type: ignore[arg-type]
    assert (_lag(0), _lag(1)) == (10, 800)

    listener = broker.options["listener"]  # the group's rebalances reach the consumer
    await _maybe(listener.on_partitions_revoked({lost}))
    await _maybe(listener.on_partitions_assigned(set()))

    assert _lag(1) is None  # another instance reports it now
    assert _lag(0) == 10


async def test_a_batch_that_ends_after_its_partition_was_taken_reports_nothing_for_it() -> None:
    consumer = _consumer(DeclaringBroker())
    gone = TopicPartition(TOPIC, 2)
    kafka = KafkaConsumer(set(), {gone: 500})  # revoked while the batch was being handled
    msg = SimpleNamespace(raw_message=(_record(2, 9),), consumer=kafka)
    await consumer.on_batch([], msg)  # type: ignore[arg-type]

    assert _lag(2) is None


async def _maybe(result: Any) -> None:
    if hasattr(result, "__await__"):
        await result


@pytest.fixture(autouse=True)
def _fresh_gauge() -> Any:
    yield
    for partition in range(3):
        metrics.CONSUMER_LAG.remove(TOPIC, str(partition))
