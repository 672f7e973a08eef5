"""At-least-once, idempotent consumption with dead letters.

Every subscriber names its consumer group; the offset of a message is committed (its partition
only) once the wrapper below is done with it, which means:

- a message that is not an event we accept (bad JSON, wrong schema, unknown type) goes to the
  topic's dead-letter topic at once, with the error in its headers;
- an event whose ``event_id`` this group already applied is skipped (a unique ``_id`` in
  ``processed_events`` decides);
- a database or broker outage is waited out (with back-off, never dead-lettered): the message is
  neither lost nor skipped;
- any other failure is retried ``consumer_max_attempts`` times, then dead-lettered, and the
  consumer moves on.

Handlers must still be idempotent for the window between their effect and the processed mark
(a crash there redelivers): make effects upserts or conditional updates keyed by ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus, StreamMessage
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from secop_contracts import Event, UnknownEventError, parse_event

from secop_runtime import metrics
from secop_runtime.context import working_on
from secop_runtime.kafka import TRANSIENT_KAFKA_ERRORS, dead_letter_topic
from secop_runtime.mongo import is_transient_db_error
from secop_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]

PROCESSED = "processed_events"
MAX_BACKOFF_S = 30.0
HEARTBEAT_MS = 500


class Inbox:
    """Which events a consumer group has already applied."""

    def __init__(self, db: AsyncDatabase, group: str) -> None:
        self._col = db[PROCESSED]
        self._group = group

    def _id(self, event: Event) -> str:
        return f"{self._group}:{event.event_id}"

    async def seen(self, event: Event) -> bool:
        return await self._col.find_one({"_id": self._id(event)}, projection={"_id": 1}) is not None

    async def mark(self, event: Event) -> None:
        # A duplicate means another instance applied it concurrently: the same outcome.
        with contextlib.suppress(DuplicateKeyError):
            await self._col.insert_one(
                {
                    "_id": self._id(event),
                    "group": self._group,
                    "type": event.event_type,
                    "at": datetime.now(UTC),
                }
            )

    async def prune(self, older_than_days: int) -> int:
        """The dev database has no TTL indexes: old marks are deleted in code."""
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        result = await self._col.delete_many({"at": {"$lt": cutoff}})
        return result.deleted_count


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """Hand handlers the undecoded bytes: decoding errors must reach our dead-letter path."""
    return message.body


@dataclass(frozen=True)
class Route:
    """One consumed topic: the event type it carries and what the service does with it."""

    event_type: type[Event]
    handler: Handler[Any]
    description: str
    #: The handler's effect is idempotent by the event's id: no processed mark is kept.
    keyed_by_event: bool = False


def subscribe_all(
    broker: KafkaBroker,
    settings: ServiceSettings,
    get_db: Callable[[], AsyncDatabase],
    routes: Mapping[str, Route],
) -> None:
    """One consumer for every topic the service reads, dispatching by topic.

    One consumer per service (not per topic) keeps start-up to a single group join: with one
    consumer per topic, each join made the members already there rebalance again. ``get_db``
    is called per message, as the database is connected in the lifespan, after this
    declaration.
    """
    if not routes:
        return

    async def dead_letter(body: bytes, msg: KafkaMessage, error: BaseException) -> None:
        raw = msg.raw_message
        topic = str(getattr(raw, "topic", ""))
        dlt = dead_letter_topic(topic)
        headers = {
            "dlt-error": f"{type(error).__name__}: {error}"[:2000],
            "dlt-original-topic": topic,
            "dlt-original-partition": str(getattr(raw, "partition", "")),
            "dlt-original-offset": str(getattr(raw, "offset", "")),
            "dlt-consumer-group": settings.consumer_group,
            "dlt-failed-at": datetime.now(UTC).isoformat(),
        }
        await _until_done(
            lambda: broker.publish(body, dlt, key=getattr(raw, "key", None), headers=headers)
        )
        metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="dead_lettered").inc()
        log.error(
            "message dead-lettered",
            extra={"topic": topic, "dlt": dlt, "error": headers["dlt-error"]},
        )

    async def on_message(body: bytes, msg: KafkaMessage) -> None:
        try:
            await handle(body, msg)
        except Exception as exc:
            # Not the handler's failure (that is retried, then dead-lettered, inside): ours,
            # e.g. the processed mark refused. Committing past the message would lose it, so it
            # goes to the dead-letter topic; if even that fails, the partition is rewound to it.
            log.exception("event could not be handled; dead-lettering it")
            try:
                await dead_letter(body, msg, exc)
            except Exception:
                await msg.nack()
                raise
        await _commit(msg)

    async def handle(body: bytes, msg: KafkaMessage) -> None:
        topic = str(getattr(msg.raw_message, "topic", ""))
        route = routes.get(topic)
        try:
            if route is None:
                raise UnknownEventError(f"no handler for topic {topic!r}")
            event = parse_event(body, accept=[route.event_type])
        except (ValueError, ValidationError, UnicodeDecodeError) as exc:
            await dead_letter(body, msg, exc)
            return
        inbox = Inbox(get_db(), settings.consumer_group)
        with working_on(event.correlation_id, event.event_id):
            if not route.keyed_by_event and await _until_done(lambda: inbox.seen(event)):
                metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="duplicate").inc()
                return
            started = time.perf_counter()
            attempt = 0
            while True:
                attempt += 1
                try:
                    await _until_done(lambda: route.handler(event))
                    break
                except Exception as exc:
                    if attempt >= settings.consumer_max_attempts:
                        await dead_letter(body, msg, exc)
                        return
                    metrics.HANDLER_RETRIES.labels(topic=topic).inc()
                    log.warning(
                        "handler failed; retrying",
                        exc_info=True,
                        extra={"topic": topic, "attempt": attempt},
                    )
                    await asyncio.sleep(settings.consumer_retry_backoff_s * 2 ** (attempt - 1))
            if not route.keyed_by_event:
                await _until_done(lambda: inbox.mark(event))
            metrics.HANDLER_SECONDS.labels(topic=topic).observe(time.perf_counter() - started)
            metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="applied").inc()

    description = "\n".join(f"{topic}: {r.description}" for topic, r in sorted(routes.items()))
    on_message.__name__ = f"on_{settings.service_name}_events"
    on_message.__doc__ = description
    broker.subscriber(
        *sorted(routes),
        group_id=settings.consumer_group,
        # We commit ourselves, after handling, and only the message's own partition:
        # FastStream's ACK commits every assigned partition's position on every message.
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        heartbeat_interval_ms=HEARTBEAT_MS,
        decoder=_raw_body,
        description=description,
        title=f"{settings.service_name}:events",
    )(on_message)


async def _commit(msg: KafkaMessage) -> None:
    """Commit past this message, on its partition only (it has been handled).

    A broker outage is waited out like any other step. A commit refused because the group
    rebalanced is harmless: the partition's new owner gets the message again and the handler's
    idempotence absorbs it.
    """
    record = msg.raw_message
    offsets = {TopicPartition(record.topic, record.partition): record.offset + 1}

    async def commit() -> None:
        try:
            await msg.consumer.commit(offsets)  # type: ignore[call-arg]  # aiokafka's signature
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "offset commit refused; the message may come again", extra={"error": str(exc)}
            )

    await _until_done(commit)
    msg.committed = AckStatus.ACKED


async def _until_done(step: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``step``, waiting out database and broker outages with capped back-off."""
    delay = 0.2
    while True:
        try:
            return await step()
        except Exception as exc:
            if not (isinstance(exc, TRANSIENT_KAFKA_ERRORS) or is_transient_db_error(exc)):
                raise
            log.warning("infrastructure unavailable; waiting", extra={"error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
