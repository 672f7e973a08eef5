"""``secop-analytics load``: every ``analytics.*`` topic into the DuckDB file.

At-least-once in, exactly once in effect: a batch is written to DuckDB and committed there
first, and only then are its offsets committed to Kafka. A crash between the two reads the
batch again, and the ``event_id`` primary key turns the repeat into nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from secop_analytics.settings import COPY_PREFIX, Settings
from secop_analytics.store import Added, Record, Store

log = logging.getLogger(__name__)

BATCH = 500
POLL_S = 1.0
#: How long ``--until-idle`` waits to be given partitions before it gives up.
JOIN_TIMEOUT_S = 60.0
#: Errors that retrying will not mend: wrong password, a group or topic not granted.
FATAL = {
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
}


class Loader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.copy_prefix = settings.topic_prefix + COPY_PREFIX
        self.failure: KafkaError | None = None
        self.assigned_at: float | None = None
        self.consumer = Consumer(
            settings.librdkafka() | {"error_cb": self._on_error, "enable.partition.eof": False}
        )

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal() or error.code() in FATAL:
            self.failure = error
        else:  # the client reconnects by itself
            log.warning("kafka: %s", error.str())

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned_at = self.assigned_at or time.monotonic()
        log.info("reading %d partitions", len(partitions))

    def run(
        self, store: Store, until_idle: float | None = None, stop: Callable[[], bool] | None = None
    ) -> Added:
        """Read until ``stop()`` says so, or (``until_idle``) nothing came for that long."""
        total, last = Added(), time.monotonic()
        self.consumer.subscribe([self.settings.topic_pattern], on_assign=self._on_assign)
        try:
            while not (stop and stop()):
                records = self._poll()
                if records:
                    total += self._store(store, records)
                    last = time.monotonic()
                elif until_idle is not None and self._idle(last, until_idle):
                    break
        finally:
            self.consumer.close()  # leaves the group; commits nothing more
        return total

    def _poll(self) -> list[Message]:
        records = []
        for message in self.consumer.consume(num_messages=BATCH, timeout=POLL_S):
            error = message.error()
            if error is None:
                records.append(message)
            elif error.fatal() or error.code() in FATAL:
                raise KafkaException(error)
            else:
                log.warning("kafka: %s", error.str())
        if self.failure is not None:
            raise KafkaException(self.failure)
        return records

    def _idle(self, last: float, until_idle: float) -> bool:
        now = time.monotonic()
        if self.assigned_at is None:  # still joining the group: not idle yet
            if now - last > max(JOIN_TIMEOUT_S, until_idle):
                raise TimeoutError(f"no partitions assigned after {now - last:.0f}s")
            return False
        return now - max(last, self.assigned_at) >= until_idle

    def _store(self, store: Store, messages: list[Message]) -> Added:
        records = [
            Record(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in messages
        ]
        added = store.add(records, self.copy_prefix)  # DuckDB has committed when this returns
        if added.rejected:
            log.warning("%d record(s) were not events: see rejected_records", added.rejected)
        try:
            self.consumer.commit(offsets=_next_offsets(messages), asynchronous=False)
        except KafkaException as exc:  # e.g. a rebalance: the batch comes again, a no-op
            log.warning("offsets not committed (%s); the batch will be read again", exc)
        return added


def _next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """Per partition, the offset after the last record read (what Kafka expects)."""
    last: dict[tuple[str, int], int] = {}
    for m in messages:
        key = (m.topic(), m.partition())
        last[key] = max(last.get(key, -1), m.offset())
    return [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]


def load(settings: Settings, until_idle: float | None = None, **kwargs: Any) -> Added:
    """Open the store, read into it, close it: what the command runs."""
    store = Store.open(settings.database)
    try:
        return Loader(settings).run(store, until_idle, **kwargs)
    finally:
        store.close()
