"""Consume, pseudonymise, produce: each batch in one Kafka transaction, so each event's copy is
written exactly once.

The copies and the consumer group's offsets are committed together (``send_offsets_to_
transaction``): a crash before the commit aborts both, and the batch is read again; after it,
neither repeats. Readers of the copies use ``isolation_level="read_committed"`` and never see an
aborted copy.

A record that is not a trustworthy event (bad JSON or schema, a forged ``producer``, a future
time; ``secop_runtime.consumer.accept_event``) is not copied: it goes, as it came, to the copy's
dead-letter topic ``analytics.<Event>.DLT``, in the same transaction. That topic is the
projector's alone: the raw record may hold personal data, so analytics cannot read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import ProducerFenced
from prometheus_client import Counter
from pydantic import ValidationError
from secop_contracts import EVENTS_BY_TYPE
from secop_contracts.analytics import analytics_topic, copy_key, pseudonymise
from secop_runtime import tracing
from secop_runtime.consumer import accept_event
from secop_runtime.kafka import client_options, dead_letter_topic, ensure_topics
from secop_runtime.settings import secret

from projector.config import Settings

log = logging.getLogger(__name__)

PROJECTED = Counter(
    "secop_projector_events_total",
    "Events copied to their pseudonymised topic, by outcome (copied, dead_lettered)",
    ["topic", "outcome"],
)
MAX_BACKOFF_S = 30.0
STALLED_AFTER = 5


class Projector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = secret(settings.pseudonym_key).encode()
        self.prefix = settings.kafka_topic_prefix
        self.sources = {settings.topic(name): name for name in EVENTS_BY_TYPE}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.running = False
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def copy_of(self, record: ConsumerRecord) -> tuple[str, bytes | None, bytes]:
        """Where the record goes, its key and its value (the copy, or the dead letter as it
        came)."""
        name = self.sources[record.topic]
        try:
            event = accept_event(
                record.value or b"", EVENTS_BY_TYPE[name], self.settings.consumer_max_clock_skew_s
            )
        except (ValueError, ValidationError, UnicodeDecodeError) as exc:
            return self._dead_letter(record, name, exc)
        try:
            body = json.dumps(pseudonymise(event, self.key), separators=(",", ":"))
            key = copy_key(event, self.key)
        except Exception as exc:  # a bug of ours must not stop every copy behind it
            return self._dead_letter(record, name, exc)
        PROJECTED.labels(topic=record.topic, outcome="copied").inc()
        return analytics_topic(name, self.prefix), key, body.encode()

    def _dead_letter(
        self, record: ConsumerRecord, name: str, exc: BaseException
    ) -> tuple[str, bytes | None, bytes]:
        # The error's type only: pydantic's text would carry the record's values.
        log.warning(
            "record not copied; dead-lettered",
            extra={"topic": record.topic, "offset": record.offset, "error": type(exc).__name__},
        )
        PROJECTED.labels(topic=record.topic, outcome="dead_lettered").inc()
        dead = dead_letter_topic(analytics_topic(name, self.prefix))
        return dead, record.key, record.value or b""

    async def start(self) -> None:
        s = self.settings
        copies = [analytics_topic(name, self.prefix) for name in self.sources.values()]
        topics = [*self.sources, *copies, *map(dead_letter_topic, copies)]
        options = client_options(s)
        await ensure_topics(
            s.kafka_bootstrap_servers,
            topics,
            s.kafka_topic_partitions,
            s.kafka_replication_factor,
            **options,
        )
        self.consumer = AIOKafkaConsumer(
            *sorted(self.sources),
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.consumer_group,
            client_id=f"{s.service_name}-{s.instance_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=s.projector_batch_max_records,
            **options,
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            client_id=f"{s.service_name}-{s.instance_id}",
            # One id per instance, under the prefix its grants cover.
            transactional_id=f"{s.consumer_group}-{s.instance_id}",
            enable_idempotence=True,
            **options,
        )
        await self.producer.start()
        await self.consumer.start()
        self.running = True
        self._task = asyncio.create_task(self._run(), name="projector")

    async def stop(self) -> None:
        self.running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()

    @property
    def healthy(self) -> bool:
        """Running, and not stuck: readiness turns 503 after ``STALLED_AFTER`` aborted tries of
        one batch in a row, or once the loop ended (fenced by a newer instance, a bug)."""
        alive = self.running and self._task is not None and not self._task.done()
        return alive and self.failures < STALLED_AFTER

    async def _run(self) -> None:
        assert self.consumer is not None  # started
        delay = 0.2
        while self.running:
            batch = await self.consumer.getmany(timeout_ms=1000)
            if not batch:
                continue
            try:
                await self._project(batch)
                delay, self.failures = 0.2, 0
            except asyncio.CancelledError:
                raise
            except ProducerFenced:
                # A newer instance holds our transactional id: this one must stop copying.
                log.error("fenced by another projector instance; stopping")
                return
            except Exception as exc:
                self.failures += 1
                # Aborted: nothing of the batch is visible and its offsets were not committed.
                log.warning(
                    "projection aborted; reading the batch again", extra={"error": str(exc)}
                )
                for partition, records in batch.items():
                    with contextlib.suppress(Exception):  # a rebalance may have taken it
                        self.consumer.seek(partition, records[0].offset)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def _project(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self.producer is not None  # started
        async with self.producer.transaction():
            for records in batch.values():
                for record in records:
                    topic, key, value = self.copy_of(record)
                    with tracing.kafka_span(
                        "process",
                        record.topic,
                        tracing.from_headers(record.headers),
                        group=self.settings.consumer_group,
                    ):
                        # The copy continues the original's trace (ids only: nothing personal).
                        headers = [
                            ("copied-at", datetime.now(UTC).isoformat().encode()),
                            *((k, v.encode()) for k, v in tracing.carrier().items()),
                        ]
                    await self.producer.send(topic, value, key=key, headers=headers)
            offsets: dict[TopicPartition, Any] = {
                partition: records[-1].offset + 1 for partition, records in batch.items()
            }
            await self.producer.send_offsets_to_transaction(offsets, self.settings.consumer_group)
