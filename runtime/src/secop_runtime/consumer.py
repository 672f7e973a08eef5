"""At-least-once, idempotent consumption with dead letters.

Every service has one consumer group. Records come in batches; each partition's records are
applied in order (partitions side by side) and the batch's offsets are committed once, each
partition only as far as it got. Done with a record means:

- a message that is not an event we accept (bad JSON, wrong schema, unknown type) goes to the
  topic's dead-letter topic at once, with the error in its headers; so does an event we must
  not trust (see ``check_trust``): its ``producer`` is not the owner of its type, or one of its
  instants lies further in the future than the allowed clock skew;
- an event whose ``event_id`` this group already applied is skipped (a unique ``_id`` in
  ``processed_events`` decides);
- a database or broker outage is waited out (with back-off, never dead-lettered): the message is
  neither lost nor skipped;
- any other failure is retried ``consumer_max_attempts`` times, then dead-lettered, and the
  consumer moves on.

Handlers must still be idempotent for the window between their effect and the processed mark
(a crash there redelivers): make effects upserts or conditional updates keyed by ids.

A route with a bulk handler (idempotent by event id, order-insensitive) gets a partition's
records of a batch in one call; if any record is not an event, or the call fails, they go one by
one as above. A batch taken one by one stops after ``BATCH_BUDGET_S`` and reads the rest again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus, StreamMessage
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from secop_contracts import Event, UnknownEventError, owner_of, parse_event

from secop_runtime import metrics, tracing
from secop_runtime.context import working_on
from secop_runtime.errors import Contended
from secop_runtime.kafka import TRANSIENT_KAFKA_ERRORS, dead_letter_topic
from secop_runtime.mongo import ensure_indexes, expiry_index, is_transient_db_error
from secop_runtime.redaction import describe_error
from secop_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]
BulkHandler = Callable[[Sequence[E]], Awaitable[None]]

PROCESSED = "processed_events"
MAX_BACKOFF_S = 30.0
HEARTBEAT_MS = 500
#: A batch stops taking records one by one after this long (the rest are read again), well
#: inside the consumer's poll interval (aiokafka's default, 300 s).
BATCH_BUDGET_S = 60.0


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

    async def ensure_indexes(self, older_than_days: int) -> None:
        """Where the database has TTL indexes, it forgets old marks as ``prune`` does."""
        await ensure_indexes(self._col, expiry_index("at", timedelta(days=older_than_days)))

    async def prune(self, older_than_days: int) -> int:
        """Old marks deleted in code: the development database has no TTL indexes."""
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        result = await self._col.delete_many({"at": {"$lt": cutoff}})
        return result.deleted_count


class UntrustedEventError(ValueError):
    """A well-formed event this consumer must not apply: forged producer or future time."""


def check_trust(event: Event, max_skew_s: float, now: datetime | None = None) -> None:
    """Refuse an event that claims another service's authority or a time still to come.

    The broker's ACLs already keep a service off other services' topics; this is the second
    line, for a credential that leaks or an ACL set wrong. A future ``occurred_at`` would win
    every "latest fact" comparison (membership's user view), and a future ``revoked_before``
    would refuse a user's sessions for good.
    """
    owner = owner_of(event.event_type)
    if event.producer != owner:
        claimed = event.producer[:64]  # the writer's text, bounded before logs and headers
        raise UntrustedEventError(
            f"{event.event_type} must be produced by {owner}, not {claimed!r}"
        )
    limit = (now or datetime.now(UTC)) + timedelta(seconds=max_skew_s)
    for field, instant in event.instants().items():
        if instant.tzinfo is None:
            raise UntrustedEventError(f"{event.event_type}.{field} has no time zone")
        if instant > limit:
            raise UntrustedEventError(
                f"{event.event_type}.{field} lies in the future (beyond {max_skew_s:g} s of skew)"
            )


def accept_event(raw: bytes, event_type: type[Event], max_skew_s: float) -> Event:
    """Decode and vet one record's value as ``event_type`` (every reader of our topics: the
    services' consumers and the projector); raises ``ValueError`` when it must not be applied."""
    event = parse_event(raw, accept=[event_type])
    check_trust(event, max_skew_s)
    return event


async def _raw_body(message: StreamMessage[Any]) -> list[bytes]:
    """Hand the handler the undecoded bytes: decoding errors must reach our dead-letter path."""
    return message.body  # type: ignore[no-any-return]  # a batch: one bytes per record


@dataclass(frozen=True)
class Route:
    """One consumed topic: the event type it carries and what the service does with it."""

    event_type: type[Event]
    handler: Handler[Any]
    description: str
    #: The handler's effect is idempotent by the event's id: no processed mark is kept.
    keyed_by_event: bool = False
    #: Applies several of these events in one call (idempotent by id, order-insensitive).
    bulk: BulkHandler[Any] | None = None


@dataclass(frozen=True)
class _Progress:
    """How far a partition got in a batch: the offset to commit (the next record to read) and
    where to read again, with the error that stopped it if any."""

    commit: int | None
    resume_at: int | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _Settlement:
    """What a batch leaves to do once its partitions are done: commit ``offsets``, read again
    from ``rewind``, and raise the first of ``errors``."""

    offsets: dict[TopicPartition, int]
    rewind: dict[TopicPartition, int]
    errors: list[BaseException]


class BatchConsumer:
    """One consumer for every topic the service reads, dispatching by topic.

    One consumer per service (not per topic) keeps start-up to a single group join: with one
    consumer per topic, each join made the members already there rebalance again. ``get_db``
    is called per record, as the database is connected in the lifespan, after this
    declaration.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        settings: ServiceSettings,
        get_db: Callable[[], AsyncDatabase],
        routes: Mapping[str, Route],
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.get_db = get_db
        self.routes = routes

    def subscribe(self) -> None:
        """Declare the consumer on the broker (before it starts); none if no topic is read."""
        if not self.routes:
            return
        s = self.settings
        description = "\n".join(f"{t}: {r.description}" for t, r in sorted(self.routes.items()))

        # A plain function, not the bound method: FastStream names and documents the
        # subscriber after the function it is given, and a method's name cannot be set.
        async def on_batch(bodies: list[bytes], msg: KafkaMessage) -> None:
            await self.on_batch(bodies, msg)

        # Each topic's dead-letter count exists from the start at 0, so the alert's increase()
        # sees the first dead letter (a counter born at 1 shows no increase).
        for topic in self.routes:
            metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="dead_lettered")
        on_batch.__name__ = f"on_{s.service_name}_events"
        on_batch.__doc__ = description
        self.broker.subscriber(
            *sorted(self.routes),
            group_id=s.consumer_group,
            batch=True,
            max_records=s.consumer_batch_max_records,
            batch_timeout_ms=s.consumer_batch_wait_ms,
            # We commit ourselves, after handling, and only the partitions handled:
            # FastStream's ACK commits every assigned partition's position.
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            heartbeat_interval_ms=HEARTBEAT_MS,
            decoder=_raw_body,
            listener=_ForgetsRevokedLag(),
            description=description,
            title=f"{s.service_name}:events",
        )(on_batch)

    async def on_batch(self, bodies: list[bytes], msg: KafkaMessage) -> None:
        """A batch: its partitions side by side, then one commit of how far each got, then a
        rewind of those that stopped short, so their rest is read again; the error that
        stopped one, if any, is raised last (to be logged)."""
        batch = _by_partition(msg.raw_message)
        deadline = asyncio.get_running_loop().time() + BATCH_BUDGET_S
        outcomes = await asyncio.gather(
            *(self.apply_partition(records, deadline) for records in batch.values()),
            return_exceptions=True,
        )
        settled = _settle(batch, outcomes)
        if settled.offsets:
            await _commit(msg.consumer, settled.offsets)
            _record_lag(msg.consumer, settled.offsets)
        # Done here: FastStream must neither commit every position nor rewind the whole batch.
        msg.committed = AckStatus.ACKED
        _rewind(msg.consumer, settled.rewind)
        if settled.errors:
            raise settled.errors[0]

    async def apply_partition(self, records: list[ConsumerRecord], deadline: float) -> _Progress:
        """A partition's records of one batch (one topic): together if its route can, else in
        order."""
        route = self.routes.get(records[0].topic)
        bulk = route.bulk if route is not None and len(records) > 1 else None
        if (
            route is not None
            and bulk is not None
            and await self.apply_together(route, bulk, records)
        ):
            return _Progress(records[-1].offset + 1)
        return await self.apply_in_order(records, deadline)

    async def apply_together(
        self, route: Route, bulk: BulkHandler[Any], records: list[ConsumerRecord]
    ) -> bool:
        """Through the route's bulk handler; False means "take them one by one" (which also
        dead-letters exactly the record at fault, and is safe: bulk effects are idempotent)."""
        topic = records[0].topic
        try:
            events = [self.accept(r, route) for r in records]
        except (ValueError, ValidationError, UnicodeDecodeError):
            return False
        started = time.perf_counter()
        try:
            contexts = [tracing.from_headers(r.headers) for r in records]
            with tracing.kafka_span(
                "process",
                topic,
                contexts[0],
                group=self.settings.consumer_group,
                links=contexts[1:],
                count=len(records),
            ):
                await _until_done(lambda: bulk(events))
        except Exception:
            log.warning("bulk handler failed; applying one by one", exc_info=True)
            return False
        share = (time.perf_counter() - started) / len(events)
        for _ in events:
            metrics.HANDLER_SECONDS.labels(topic=topic).observe(share)
        metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="applied").inc(len(events))
        return True

    async def apply_in_order(self, records: list[ConsumerRecord], deadline: float) -> _Progress:
        """A partition's records, one after another, until done, stuck or out of time."""
        loop = asyncio.get_running_loop()
        for done, record in enumerate(records):
            commit = records[done - 1].offset + 1 if done else None
            if done and loop.time() > deadline:
                # Slow handlers (retries, outages) must not keep the batch past the poll
                # interval, or the group would drop this consumer and the work would repeat.
                return _Progress(commit, resume_at=record.offset)
            try:
                await self.apply(record)
            except Exception as exc:
                # Neither applied nor dead-lettered: read it again, never skip it.
                return _Progress(commit, resume_at=record.offset, error=exc)
        return _Progress(records[-1].offset + 1)

    async def apply(self, record: ConsumerRecord) -> None:
        """One record, start to finish; raises only if it could not even be dead-lettered."""
        try:
            await self.handle(record)
        except Exception as exc:
            # Not the handler's failure (that is retried, then dead-lettered, inside): ours,
            # e.g. the processed mark refused. Committing past the record would lose it, so it
            # goes to the dead-letter topic; if even that fails, its partition is rewound.
            log.exception("event could not be handled; dead-lettering it")
            await self.dead_letter(record, exc)

    async def handle(self, record: ConsumerRecord) -> None:
        """Vet the record, skip it if this group applied it already, else apply and mark it
        (in a span continuing the trace of what caused the event)."""
        parent = tracing.from_headers(record.headers)
        with tracing.kafka_span(
            "process", record.topic, parent, group=self.settings.consumer_group
        ):
            await self._handle(record)

    async def _handle(self, record: ConsumerRecord) -> None:
        topic = record.topic
        route = self.routes.get(topic)
        try:
            if route is None:
                raise UnknownEventError(f"no handler for topic {topic!r}")
            event = self.accept(record, route)
        except (ValueError, ValidationError, UnicodeDecodeError) as exc:
            await self.dead_letter(record, exc)
            return
        inbox = Inbox(self.get_db(), self.settings.consumer_group)
        with working_on(event.correlation_id, event.event_id):
            if not route.keyed_by_event and await _until_done(lambda: inbox.seen(event)):
                metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="duplicate").inc()
                return
            started = time.perf_counter()
            if not await self.run_handler(record, route, event):
                return
            if not route.keyed_by_event:
                await _until_done(lambda: inbox.mark(event))
            metrics.HANDLER_SECONDS.labels(topic=topic).observe(time.perf_counter() - started)
            metrics.EVENTS_CONSUMED.labels(topic=topic, outcome="applied").inc()

    async def run_handler(self, record: ConsumerRecord, route: Route, event: Event) -> bool:
        """The route's handler, retried with back-off; False once it gave up and dead-lettered
        the record. Outages are waited out within an attempt: they use none up."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await _until_done(lambda: route.handler(event))
                return True
            except Contended:
                # Others kept changing the aggregate: nothing was applied, and it will apply
                # once they are done. Like an outage, this uses no attempt up.
                attempt -= 1
                await asyncio.sleep(self.settings.consumer_retry_backoff_s)
            except Exception as exc:
                if attempt >= self.settings.consumer_max_attempts:
                    await self.dead_letter(record, exc)
                    return False
                metrics.HANDLER_RETRIES.labels(topic=record.topic).inc()
                log.warning(
                    "handler failed; retrying",
                    exc_info=True,
                    extra={"topic": record.topic, "attempt": attempt},
                )
                await asyncio.sleep(self.settings.consumer_retry_backoff_s * 2 ** (attempt - 1))

    def accept(self, record: ConsumerRecord, route: Route) -> Event:
        """The record's event, vetted for ``route``; raises ``ValueError`` (or a decoding or
        validation error) when it must not be applied."""
        return accept_event(
            record.value or b"", route.event_type, self.settings.consumer_max_clock_skew_s
        )

    async def dead_letter(self, record: ConsumerRecord, error: BaseException) -> None:
        """Park the record, as it came, on its topic's dead-letter topic; the headers say where
        it came from and why (sanitized: see ``describe_error``). Outages are waited out."""
        dlt = dead_letter_topic(record.topic)
        headers = {
            # The record's own identity and trace go with it: a replay (secop_runtime.replay
            # forwards them) continues the event's trace.
            **_kept_headers(record),
            "dlt-error": describe_error(error)[:2000],
            "dlt-original-topic": record.topic,
            "dlt-original-partition": str(record.partition),
            "dlt-original-offset": str(record.offset),
            "dlt-consumer-group": self.settings.consumer_group,
            "dlt-failed-at": datetime.now(UTC).isoformat(),
        }
        await _until_done(
            lambda: self.broker.publish(record.value or b"", dlt, key=record.key, headers=headers)
        )
        metrics.EVENTS_CONSUMED.labels(topic=record.topic, outcome="dead_lettered").inc()
        log.error(
            "message dead-lettered",
            extra={"topic": record.topic, "dlt": dlt, "error": headers["dlt-error"]},
        )


#: Headers of a record its dead letter keeps (the rest, and any ``dlt-*`` it carried, are not).
KEPT_HEADERS = ("event_type", "event_id", "content-type", "traceparent", "replay-of")


def _kept_headers(record: ConsumerRecord) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in record.headers or ():
        if name in KEPT_HEADERS and isinstance(value, bytes | bytearray):
            kept[name] = bytes(value).decode("utf-8", "replace")[:512]
    return kept


def subscribe_all(
    broker: KafkaBroker,
    settings: ServiceSettings,
    get_db: Callable[[], AsyncDatabase],
    routes: Mapping[str, Route],
) -> None:
    """Declare the service's ``BatchConsumer`` on ``broker`` (kept for the callers' sake)."""
    BatchConsumer(broker, settings, get_db, routes).subscribe()


def _by_partition(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, list[ConsumerRecord]]:
    """A batch's records by partition, each partition's in the order read."""
    batch: dict[TopicPartition, list[ConsumerRecord]] = {}
    for record in records:
        batch.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
    return batch


def _settle(
    batch: Mapping[TopicPartition, list[ConsumerRecord]],
    outcomes: Sequence[_Progress | BaseException],
) -> _Settlement:
    """Each partition's progress (``outcomes`` in ``batch``'s order) as one commit, the
    positions to read again and the errors that stopped partitions."""
    offsets: dict[TopicPartition, int] = {}
    rewind: dict[TopicPartition, int] = {}
    errors: list[BaseException] = []
    for (partition, records), outcome in zip(batch.items(), outcomes, strict=True):
        if not isinstance(outcome, _Progress):  # cancelled (shutting down), or a bug
            outcome = _Progress(None, resume_at=records[0].offset, error=outcome)
        if outcome.commit is not None:
            offsets[partition] = outcome.commit
        if outcome.resume_at is not None:
            rewind[partition] = outcome.resume_at
        if outcome.error is not None:
            errors.append(outcome.error)
    return _Settlement(offsets, rewind, errors)


class _ForgetsRevokedLag(ConsumerRebalanceListener):  # type: ignore[misc]
    """A partition the group moved elsewhere leaves this instance's ``secop_consumer_lag``: its
    last value would stay exported, stale, for good (its new reader reports it)."""

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        for partition in revoked:
            metrics.CONSUMER_LAG.remove(partition.topic, str(partition.partition))

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        return None


def _record_lag(consumer: Any, offsets: Mapping[TopicPartition, int]) -> None:
    """How far each committed partition is behind its end, as last fetched (for the alerts);
    only those still assigned (a batch may end after a rebalance took its partition)."""
    highwater = getattr(consumer, "highwater", None)  # FastStream's test consumer has none
    if highwater is None:
        return
    owned = consumer.assignment()
    for partition, committed in offsets.items():
        end = highwater(partition)
        if end is not None and partition in owned:
            metrics.CONSUMER_LAG.labels(partition.topic, str(partition.partition)).set(
                max(0, end - committed)
            )


def _rewind(consumer: Any, positions: Mapping[TopicPartition, int]) -> None:
    """Make the consumer read these partitions again from these offsets."""
    for partition, offset in positions.items():
        # Refused only if a rebalance took the partition meanwhile: its new owner starts
        # from the last commit, which is no further than this.
        with contextlib.suppress(IllegalStateError):
            consumer.seek(partition, offset)


async def _commit(consumer: Any, offsets: dict[TopicPartition, int]) -> None:
    """Commit how far each partition of a batch got (each was applied up to there).

    A broker outage is waited out like any other step. A commit refused because the group
    rebalanced is harmless: the partition's new owner gets the records again and the handlers'
    idempotence absorbs them.
    """

    async def commit() -> None:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offset commit refused; records may come again", extra={"error": str(exc)})

    await _until_done(commit)


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
