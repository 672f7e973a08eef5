"""Replay a dead-letter topic after a fix: ``python -m secop_runtime.replay``.

``list <Event>.DLT`` prints each dead letter (partition, offset, when, the consumer group and
error that parked it, event type and id; never the payload) and whether it was replayed.
``replay --topic <Event>`` publishes the selected dead letters' key and value, unchanged, to the
original topic, with a ``replay-of`` header naming the dead letter (``<dlt>:<partition>:
<offset>``), through an idempotent producer, keeping each key's order.

**Who sees a replay.** Every consumer group of the topic reads the replayed record, not only the
one that dead-lettered it. Groups that applied the event skip it by its ``event_id`` (their
``processed_events`` mark, or the insert keyed by the event's id), so only the group that failed
applies it. Three limits follow:

- those marks are kept ``PROCESSED_EVENTS_RETENTION_DAYS`` (30): an event older than that could
  be applied a second time by a group that forgot it, so it is refused unless ``--force``;
- the projector keeps no marks: it copies the replayed event to ``analytics.<Event>`` again,
  with the same ``event_id`` (analytics readers dedupe on it, as ``examples/analytics`` does);
- the event arrives after newer events of its aggregate; handlers that keep "the latest" fact
  compare ``occurred_at`` (membership's user view does), and others must be read for that
  before a replay.

**What is refused** (unless ``--force``): a dead letter that is not the record it stands for,
and whatever the consumers would dead-letter again. A dead-letter topic is written by every
consumer of its event (and ``analytics.<Event>.DLT`` by the projector, for every event), while
only the owner writes the event topic; so a dead letter goes back only when the record it names
(``dlt-original-partition``/``-offset``), or for the projector's, which name none, a record with
the same key and value, is on the event topic with the same key and value. Otherwise the admin
would put there whatever a consumer wrote, with the owner's ``producer``: a forged event
laundered. The original gone with the topic's retention cannot be checked either. An event whose
``producer`` is not its type's owner was parked on purpose (a forged event): a replay would be
parked again. So would a record that is no event of the topic's type, or one whose times still
lie in the future. A replay carries the original's headers, not the dead letter's.

**Replayed once.** Progress is kept per dead-lettering group in a consumer group of the tool's
own on the dead-letter topic, ``<prefix>secop-replay.<Event>.<group>``, committed after every
flush: the offset below which that group's dead letters were replayed, and (in the commit's
metadata) the replayed ranges beyond a gap that a refusal or a narrowed selection left. A
second run replays nothing twice; a crash between a flush and its commit replays that batch
again, which the groups skip. The broker forgets an idle group's offsets after
``offsets.retention.minutes`` (7 days by default); each run refreshes them. Run one replay of a
topic at a time.

**Principal.** Republishing puts the owner's event back on the owner's topic: only the owner, or
the broker's super user, may write there. A principal with WRITE on every event topic would be a
standing credential able to forge any service's events, which the ACLs exist to prevent; so the
tool runs as the ``admin`` principal (provisioning's, never a service's), and provisioning
grants nothing for it. Configure it like provisioning: the admin's ``KAFKA_*`` variables and
``KAFKA_TOPIC_PREFIX``.

Exit codes: 0 done, 1 partial (something selected was refused, not delivered, or the broker
failed), 2 bad input. A projector's dead letters (``analytics.<Event>.DLT``) are replayed the
same way, to ``<Event>``: the projector copies them once fixed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO
from uuid import UUID

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from pydantic import ValidationError
from secop_contracts import EVENTS_BY_TYPE, Event, owner_of, parse_event
from secop_contracts.access import DEAD_LETTER_SUFFIX, PROJECTOR
from secop_contracts.analytics import PREFIX as ANALYTICS_PREFIX

from secop_runtime.consumer import check_trust, describe_error
from secop_runtime.kafka_provisioning import admin_config
from secop_runtime.settings import ServiceSettings

REPLAY_OF = "replay-of"
PROGRESS_GROUP = "secop-replay"
#: Records produced between two commits of progress.
FLUSH_EVERY = 200
#: Kafka refuses commit metadata past ``offset.metadata.max.bytes`` (4096 by default).
MAX_METADATA = 4000
TIMEOUT_S = 30.0


class BadInput(Exception):
    """The operator asked for something that cannot be: exit code 2."""


# --- what a dead letter says (no I/O) ---------------------------------------------------------


def clean(text: str, limit: int = 200) -> str:
    """A header's or field's text fit for a terminal: no control characters, bounded."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)[:limit]


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int = 0
    #: The group that parked it when the headers do not say (the projector's dead letters).
    default_group: str = "unknown"

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key == name:
                return clean((value or b"").decode(errors="replace"), 2000)
        return ""

    def origin(self) -> tuple[int, int] | None:
        """The partition and offset of the record it came from, as its headers say (a
        service's dead letters say it; the projector's do not)."""
        partition, offset = (
            self.header("dlt-original-partition"),
            self.header("dlt-original-offset"),
        )
        return (int(partition), int(offset)) if partition.isdigit() and offset.isdigit() else None

    @property
    def group(self) -> str:
        return self.header("dlt-consumer-group") or self.default_group

    @property
    def failed_at(self) -> str:
        stamp = datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat()
        return self.header("dlt-failed-at") or stamp

    def envelope(self) -> dict[str, str]:
        """The envelope's identifying fields as plain text ("-" when absent): never the
        payload, which may hold personal data."""
        try:
            data = json.loads(self.value)
        except ValueError:
            data = None
        fields = ("event_type", "event_id", "producer", "occurred_at")
        if not isinstance(data, dict):
            return dict.fromkeys(fields, "-")
        return {f: clean(str(data[f]), 64) if data.get(f) is not None else "-" for f in fields}


@dataclass(frozen=True)
class Original:
    """A record on the event topic: what a dead letter must be to go back."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    def same_as(self, letter: DeadLetter) -> bool:
        return (self.key, self.value) == (letter.key, letter.value)


@dataclass(frozen=True)
class Target:
    """A topic whose dead letters are replayed: ``dlt``'s records go back to ``topic``."""

    event_type: type[Event]
    topic: str
    dlt: str
    #: The group for dead letters without headers (the projector's).
    default_group: str = "unknown"


def resolve(name: str, prefix: str) -> Target:
    """``UserRegistered``, ``UserRegistered.DLT``, ``<prefix>UserRegistered``, or the
    projector's ``analytics.UserRegistered(.DLT)``; anything else is ``BadInput``."""
    bare = name[: -len(DEAD_LETTER_SUFFIX)] if name.upper().endswith(DEAD_LETTER_SUFFIX) else name
    if prefix and bare.startswith(prefix):
        bare = bare[len(prefix) :]
    copy = bare.startswith(ANALYTICS_PREFIX)
    event = bare.removeprefix(ANALYTICS_PREFIX) if copy else bare
    if event not in EVENTS_BY_TYPE:
        raise BadInput(
            f"unknown topic {clean(name, 100)!r}: name an event type (e.g. UserRegistered), "
            "optionally with .DLT, or its copy analytics.<Event>"
        )
    source = f"{prefix}{event}"
    if copy:
        dlt = f"{prefix}{ANALYTICS_PREFIX}{event}{DEAD_LETTER_SUFFIX}"
        return Target(EVENTS_BY_TYPE[event], source, dlt, f"{prefix}{PROJECTOR}")
    return Target(EVENTS_BY_TYPE[event], source, source + DEAD_LETTER_SUFFIX)


def refusal(
    letter: DeadLetter, target: Target, settings: ServiceSettings, original: Original | None
) -> str | None:
    """Why replaying ``letter`` would do harm or be parked again; None when it may go.
    ``original``: the record on the event topic it came from (``Broker.originals``)."""
    origin = letter.header("dlt-original-topic")
    if origin and origin != target.topic:
        return f"it came from {origin!r}, not {target.topic!r}"
    named = letter.origin()
    where = f"at {named[0]}@{named[1]} " if named else "with its key and value "
    if original is None:
        return (
            f"no record {where}on {target.topic} (gone with its retention, or never there): "
            "only a record the owner published goes back, and this one cannot be checked"
        )
    if not original.same_as(letter):
        return (
            f"it is not the record {where}on {target.topic} (another key or value): a dead letter "
            "is written by any consumer of the topic, only the owner's record goes back"
        )
    try:
        event = parse_event(letter.value, accept=[target.event_type])
    except (ValueError, ValidationError, UnicodeDecodeError) as exc:
        return (
            f"not a {target.event_type.TOPIC} event ({clean(describe_error(exc))}): "
            "the consumers would dead-letter it again"
        )
    owner = owner_of(event.event_type)
    if event.producer != owner:
        return (
            f"forged: its producer {clean(event.producer, 64)!r} is not {owner}, the owner of "
            f"{event.event_type}; it was dead-lettered on purpose and would be again"
        )
    try:
        check_trust(event, settings.consumer_max_clock_skew_s)
    except ValueError as exc:
        return f"{clean(str(exc))}: it would be dead-lettered again"
    kept = timedelta(days=settings.processed_events_retention_days)
    if event.occurred_at < datetime.now(UTC) - kept:
        return (
            f"older than PROCESSED_EVENTS_RETENTION_DAYS ({kept.days}): groups that applied it "
            "may have forgotten it and would apply it again"
        )
    return None


@dataclass(frozen=True)
class Progress:
    """How far one group's dead letters on one dead-letter partition were replayed: all below
    ``below``, and those within ``ranges`` (inclusive) beyond a gap."""

    below: int = 0
    ranges: tuple[tuple[int, int], ...] = ()

    def covers(self, offset: int) -> bool:
        return offset < self.below or any(a <= offset <= b for a, b in self.ranges)

    def after(self, replayed: Iterable[int], own: Sequence[int]) -> Progress:
        """The progress once ``replayed`` went too. ``own``: the offsets of every dead letter
        of this group on the partition, ascending (other groups' offsets fill the gaps)."""
        done = {o for o in own if self.covers(o)} | set(replayed)
        pending = [o for o in own if o not in done]
        below = pending[0] if pending else max(self.below, own[-1] + 1 if own else 0)
        ranges: list[tuple[int, int]] = []
        run: list[int] = []
        for offset in (o for o in own if o >= below):
            if offset in done:
                run.append(offset)
                continue
            if run:
                ranges.append((run[0], run[-1]))
            run = []
        if run:
            ranges.append((run[0], run[-1]))
        return Progress(below, tuple(ranges))

    def metadata(self) -> str:
        return ",".join(f"{a}-{b}" for a, b in self.ranges)

    def fitting(self, limit: int = MAX_METADATA) -> Progress:
        """As many leading ranges as the broker keeps: the later ones would be replayed again
        (and skipped by the groups); only many gaps between replayed dead letters get here."""
        ranges = list(self.ranges)
        while ranges and len(Progress(self.below, tuple(ranges)).metadata()) > limit:
            ranges.pop()
        return Progress(self.below, tuple(ranges))

    @classmethod
    def read(cls, offset: int, metadata: str | None) -> Progress:
        """From a committed offset (negative: none) and its metadata."""
        ranges = []
        for part in filter(None, (metadata or "").split(",")):
            first, _, last = part.partition("-")
            if first.isdigit() and last.isdigit():
                ranges.append((int(first), int(last)))
        return cls(max(offset, 0), tuple(ranges))


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command is about; empty fields select all."""

    groups: tuple[str, ...] = ()
    event_ids: frozenset[str] = field(default_factory=frozenset)
    partition: int | None = None
    from_offset: int | None = None
    to_offset: int | None = None

    def matches(self, letter: DeadLetter, prefix: str) -> bool:
        if self.groups and not {letter.group, letter.group.removeprefix(prefix)} & set(self.groups):
            return False
        if self.event_ids and letter.envelope()["event_id"] not in self.event_ids:
            return False
        if self.partition is not None and letter.partition != self.partition:
            return False
        if self.from_offset is not None and letter.offset < self.from_offset:
            return False
        return self.to_offset is None or letter.offset <= self.to_offset


def progress_group(target: Target, group: str, prefix: str) -> str:
    """The tool's consumer group that remembers ``group``'s replayed dead letters."""
    name = target.dlt.removeprefix(prefix).removesuffix(DEAD_LETTER_SUFFIX)
    return f"{prefix}{PROGRESS_GROUP}.{name}.{group.removeprefix(prefix) or 'unknown'}"


# --- the broker ---------------------------------------------------------------------------------


class Broker:
    """The tool's Kafka clients (librdkafka, like provisioning), as the settings' principal."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.config = admin_config(settings) | {"client.id": "secop-replay"}
        self.admin = AdminClient(self.config)

    def partitions(self, topic: str) -> list[int]:
        found = self.admin.list_topics(timeout=TIMEOUT_S).topics.get(topic)
        if found is None or found.error is not None:
            raise BadInput(f"{topic} does not exist on the broker (check KAFKA_TOPIC_PREFIX)")
        return sorted(found.partitions)

    def read(self, target: Target) -> list[DeadLetter]:
        """Every dead letter now on ``target.dlt``, by partition and offset (they are few: what
        could not be applied; the topic's retention bounds them)."""
        consumer = Consumer(self.config | _READER)
        try:
            return self._read(consumer, target)
        finally:
            consumer.close()

    def _read(self, consumer: Consumer, target: Target) -> list[DeadLetter]:
        spans = {p: _watermarks(consumer, target.dlt, p) for p in self.partitions(target.dlt)}
        letters = [_letter(msg, target) for msg in _records(consumer, target.dlt, spans)]
        return sorted(letters, key=lambda d: (d.partition, d.offset))

    def originals(
        self, target: Target, letters: Sequence[DeadLetter]
    ) -> dict[tuple[int, int], Original]:
        """The records on ``target.topic`` the dead letters came from, by the dead letter's
        partition and offset: the record at the place its headers name, or, for a dead letter
        that names none (the projector's), one with its key and value (the whole topic is read
        then). A dead letter missing from the answer has no such record on the topic."""
        named: dict[tuple[int, int], list[tuple[int, int]]] = {}
        unnamed: dict[tuple[bytes | None, bytes], list[tuple[int, int]]] = {}
        for letter in letters:
            where, origin = (letter.partition, letter.offset), letter.origin()
            if origin is None:
                unnamed.setdefault((letter.key, letter.value), []).append(where)
            else:
                named.setdefault(origin, []).append(where)
        if not named and not unnamed:
            return {}
        consumer = Consumer(self.config | _READER)
        try:
            spans = {}
            for p in self.partitions(target.topic):
                low, high = _watermarks(consumer, target.topic, p)
                wanted = [o for q, o in named if q == p]
                if unnamed:  # looked for by key and value: everything
                    spans[p] = (low, high)
                elif wanted:  # only the stretch the headers name (what expired is not there)
                    spans[p] = (max(low, min(wanted)), min(high, max(wanted) + 1))
            found: dict[tuple[int, int], Original] = {}
            for msg in _records(consumer, target.topic, spans):
                record = Original(
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value() or b"",
                    tuple(msg.headers() or ()),
                )
                for where in named.get((record.partition, record.offset), []):
                    found[where] = record
                for where in unnamed.get((record.key, record.value), []):
                    found.setdefault(where, record)
            return found
        finally:
            consumer.close()

    def progress(
        self, target: Target, groups: Iterable[str], partitions: Iterable[int], prefix: str
    ) -> dict[tuple[str, int], Progress]:
        found: dict[tuple[str, int], Progress] = {}
        for group in groups:
            name = progress_group(target, group, prefix)
            ask = [TopicPartition(target.dlt, p) for p in partitions]
            futures = self.admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(name, ask)]
            )
            answer = futures[name].result(timeout=TIMEOUT_S)
            for tp in answer.topic_partitions:
                found[(group, tp.partition)] = Progress.read(tp.offset, tp.metadata)
        return found

    def commit(self, target: Target, group: str, prefix: str, done: dict[int, Progress]) -> None:
        name = progress_group(target, group, prefix)
        offsets = [TopicPartition(target.dlt, p, g.below, g.metadata()) for p, g in done.items()]
        futures = self.admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(name, offsets)]
        )
        futures[name].result(timeout=TIMEOUT_S)

    def publish(
        self,
        target: Target,
        letters: Sequence[DeadLetter],
        originals: Mapping[tuple[int, int], Original],
    ) -> set[tuple[int, int]]:
        """Produce and flush; returns the dead letters (partition, offset) not delivered."""
        producer = Producer(
            self.config
            | {
                "enable.idempotence": True,
                "acks": "all",
                # The Java client's (and aiokafka's) key hashing: a replayed event lands in its
                # aggregate's partition, behind its aggregate's other events.
                "partitioner": "murmur2_random",
            }
        )
        failed: set[tuple[int, int]] = set()
        now = datetime.now(UTC).isoformat()
        for letter in letters:
            where = (letter.partition, letter.offset)

            def delivered(error: Any, _msg: Any, where: tuple[int, int] = where) -> None:
                if error is not None:
                    failed.add(where)

            producer.produce(
                target.topic,
                value=letter.value,
                key=letter.key,
                headers=_replay_headers(letter, target, now, originals.get(where)),
                on_delivery=delivered,
            )
            producer.poll(0)
        if producer.flush(TIMEOUT_S * 2) > 0:
            raise RuntimeError("the broker did not acknowledge every replayed record in time")
        return failed


#: A consumer that only reads what it is assigned: no group joined, no offset committed.
_READER = {
    "group.id": f"{PROGRESS_GROUP}-reader",  # required by librdkafka, never joined
    "enable.auto.commit": False,
    "enable.partition.eof": True,
}


def _watermarks(consumer: Consumer, topic: str, partition: int) -> tuple[int, int]:
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=TIMEOUT_S)
    return int(low), int(high)


def _records(consumer: Consumer, topic: str, spans: Mapping[int, tuple[int, int]]) -> Iterator[Any]:
    """The records of ``topic`` from ``start`` up to (not with) ``end`` in each partition's
    span; fails when nothing comes for a while."""
    ends = {p: end for p, (start, end) in spans.items() if end > start}
    consumer.assign([TopicPartition(topic, p, spans[p][0]) for p in ends])
    deadline = time.monotonic() + 4 * TIMEOUT_S
    while ends:
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not read {topic} to its end in time")
        for msg in consumer.consume(500, timeout=1.0):
            error, p = msg.error(), msg.partition()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
            if error is None and p in ends and msg.offset() < ends[p]:
                deadline = time.monotonic() + 4 * TIMEOUT_S  # a long topic is no failure
                yield msg
            if p in ends and (error is not None or msg.offset() >= ends[p] - 1):
                del ends[p]


def _letter(msg: Any, target: Target) -> DeadLetter:
    return DeadLetter(
        partition=msg.partition(),
        offset=msg.offset(),
        key=msg.key(),
        value=msg.value() or b"",
        headers=tuple(msg.headers() or ()),
        timestamp_ms=msg.timestamp()[1],
        default_group=target.default_group,
    )


def _replay_headers(
    letter: DeadLetter, target: Target, now: str, original: Original | None
) -> list[tuple[str, bytes]]:
    """The original record's headers (e.g. trace context; the dead letter's, written by a
    consumer, only when a forced one has no original), without dead-letter or replay ones,
    plus where it was replayed from."""
    own = original.headers if original is not None and original.same_as(letter) else letter.headers
    kept = [(k, v) for k, v in own if not k.startswith(("dlt-", "replay-"))]
    where = f"{target.dlt}:{letter.partition}:{letter.offset}"
    return [*kept, (REPLAY_OF, where.encode()), ("replay-at", now.encode())]


# --- the commands -------------------------------------------------------------------------------


def describe(letter: DeadLetter, status: str) -> str:
    e = letter.envelope()
    return "\t".join(
        [
            status,
            f"{letter.partition}@{letter.offset}",
            letter.failed_at,
            clean(letter.group, 100),
            e["event_type"],
            e["event_id"],
            clean(letter.header("dlt-error") or "-"),
        ]
    )


@dataclass
class Plan:
    """A run's decision on each selected dead letter."""

    send: list[DeadLetter] = field(default_factory=list)
    #: What each dead letter to go came from on the event topic, where found.
    originals: dict[tuple[int, int], Original] = field(default_factory=dict)
    forced: dict[tuple[int, int], str] = field(default_factory=dict)
    refused: list[tuple[DeadLetter, str]] = field(default_factory=list)
    already: list[DeadLetter] = field(default_factory=list)


def replayed(letter: DeadLetter, done: dict[tuple[str, int], Progress]) -> bool:
    return done.get((letter.group, letter.partition), Progress()).covers(letter.offset)


def plan(
    letters: Sequence[DeadLetter],
    done: dict[tuple[str, int], Progress],
    target: Target,
    settings: ServiceSettings,
    force: bool,
    originals: Mapping[tuple[int, int], Original],
) -> Plan:
    decided = Plan(originals=dict(originals))
    for letter in letters:
        if replayed(letter, done):
            decided.already.append(letter)
            continue
        reason = refusal(letter, target, settings, originals.get((letter.partition, letter.offset)))
        if reason is not None and not force:
            decided.refused.append((letter, reason))
            continue
        if reason is not None:
            decided.forced[(letter.partition, letter.offset)] = reason
        decided.send.append(letter)
    return decided


def own_offsets(letters: Sequence[DeadLetter]) -> dict[tuple[str, int], list[int]]:
    found: dict[tuple[str, int], list[int]] = {}
    for letter in letters:
        found.setdefault((letter.group, letter.partition), []).append(letter.offset)
    return found


def run_list(args: argparse.Namespace, settings: ServiceSettings, out: TextIO) -> int:
    target, prefix = resolve(args.topic, settings.kafka_topic_prefix), settings.kafka_topic_prefix
    broker = Broker(settings)
    letters = [d for d in broker.read(target) if args.selection.matches(d, prefix)]
    done = broker.progress(
        target, {d.group for d in letters}, broker.partitions(target.dlt), prefix
    )
    print("status\tpartition@offset\tfailed_at\tgroup\tevent_type\tevent_id\terror", file=out)
    for letter in letters:
        print(describe(letter, "replayed" if replayed(letter, done) else "pending"), file=out)
    print(f"{len(letters)} dead letter(s) on {target.dlt}", file=out)
    return 0


def run_replay(args: argparse.Namespace, settings: ServiceSettings, out: TextIO) -> int:
    prefix = settings.kafka_topic_prefix
    target = resolve(args.topic, prefix)
    broker = Broker(settings)
    partitions = broker.partitions(target.dlt)
    broker.partitions(target.topic)
    every = broker.read(target)
    chosen = [d for d in every if args.selection.matches(d, prefix)]
    missing = args.selection.event_ids - {d.envelope()["event_id"] for d in chosen}
    if missing:
        raise BadInput(f"not on {target.dlt} (for this selection): {', '.join(sorted(missing))}")
    own = own_offsets(every)
    done = broker.progress(target, {g for g, _ in own}, partitions, prefix)
    originals = broker.originals(target, [d for d in chosen if not replayed(d, done)])
    decided = plan(chosen, done, target, settings, args.force, originals)
    for letter in decided.already:
        print(describe(letter, "already-replayed"), file=out)
    for letter, reason in decided.refused:
        print(
            describe(letter, "refused"), f"refused: {reason}; --force sends it", sep="\t", file=out
        )
    verb = "would-replay" if args.dry_run else "replay"
    for letter in decided.send:
        reason = decided.forced.get((letter.partition, letter.offset))
        print(
            describe(letter, verb), *([f"forced: {reason}"] if reason else []), sep="\t", file=out
        )
    sent, failed = 0, 0
    if not args.dry_run:
        sent, failed = _send(broker, target, prefix, decided, own, done)
    shown = len(decided.send) if args.dry_run else sent
    print(
        f"{shown} {'to replay' if args.dry_run else 'replayed'} to {target.topic}, "
        f"{len(decided.already)} already replayed, {len(decided.refused)} refused, "
        f"{failed} not delivered",
        file=out,
    )
    return 1 if decided.refused or failed else 0


def _send(
    broker: Broker,
    target: Target,
    prefix: str,
    decided: Plan,
    own: dict[tuple[str, int], list[int]],
    done: dict[tuple[str, int], Progress],
) -> tuple[int, int]:
    """Publish in flushes, committing each group's progress after each; (sent, failed)."""
    sent = failed = 0
    letters = decided.send
    for start in range(0, len(letters), FLUSH_EVERY):
        batch = letters[start : start + FLUSH_EVERY]
        undelivered = broker.publish(target, batch, decided.originals)
        failed += len(undelivered)
        went: dict[tuple[str, int], list[int]] = {}
        for letter in batch:
            if (letter.partition, letter.offset) not in undelivered:
                went.setdefault((letter.group, letter.partition), []).append(letter.offset)
                sent += 1
        for key, offsets in went.items():
            done[key] = done.get(key, Progress()).after(offsets, own[key])
        _commit(broker, target, prefix, done, {g for g, _ in went})
    # Refresh the rest, so the broker does not expire an idle group's offsets.
    _commit(broker, target, prefix, done, {g for (g, _), p in done.items() if p != Progress()})
    return sent, failed


def _commit(
    broker: Broker,
    target: Target,
    prefix: str,
    done: dict[tuple[str, int], Progress],
    groups: set[str],
) -> None:
    for group in sorted(groups):
        mine = {p: g.fitting() for (name, p), g in done.items() if name == group}
        broker.commit(target, group, prefix, mine)


# --- the command line ---------------------------------------------------------------------------


def _event_id(text: str) -> str:
    try:
        return str(UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an event id (a UUID): {clean(text, 64)!r}") from None


def _offset(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not an offset: {clean(text, 32)!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m secop_runtime.replay",
        description="List a dead-letter topic, or replay its records to the original topic "
        "after a fix. Runs as the admin principal (KAFKA_* variables, KAFKA_TOPIC_PREFIX).",
    )
    commands = root.add_subparsers(dest="command", required=True)
    for name, text in (
        ("list", "print the dead letters, without their payload"),
        ("replay", "republish dead letters, unchanged, to the original topic"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("name", nargs="?", metavar="TOPIC", help="e.g. UserRegistered.DLT")
        sub.add_argument("--topic", help="the original topic (event type), e.g. UserRegistered")
        sub.add_argument(
            "--group",
            action="append",
            default=[],
            help="only what this consumer group dead-lettered (e.g. membership); repeatable",
        )
        sub.add_argument(
            "--event-id", action="append", default=[], type=_event_id, help="only this event"
        )
        sub.add_argument("--partition", type=_offset, help="only this dead-letter partition")
        sub.add_argument("--from-offset", type=_offset, help="dead-letter offsets from (inclusive)")
        sub.add_argument("--to-offset", type=_offset, help="dead-letter offsets to (inclusive)")
        if name == "replay":
            sub.add_argument("--dry-run", action="store_true", help="print what would go")
            sub.add_argument("--force", action="store_true", help="send refused ones too")
    return root


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments, or ``BadInput``."""
    args = parser().parse_args(argv)
    if bool(args.name) == bool(args.topic):
        raise BadInput("name the topic once: as an argument or with --topic")
    args.topic = args.topic or args.name
    if None not in (args.from_offset, args.to_offset) and args.from_offset > args.to_offset:
        raise BadInput("--from-offset lies after --to-offset")
    args.selection = Selection(
        tuple(args.group),
        frozenset(args.event_id),
        args.partition,
        args.from_offset,
        args.to_offset,
    )
    return args


def main(
    argv: Sequence[str] | None = None,
    settings: ServiceSettings | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
        settings = settings or ServiceSettings(service_name="replay")
        resolve(args.topic, settings.kafka_topic_prefix)  # before any connection
        command = run_list if args.command == "list" else run_replay
        return command(args, settings, out)
    except SystemExit as exc:  # argparse: --help is 0, a usage error 2
        return int(exc.code or 0)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # the settings: pydantic's messages, never the values
        said = "; ".join(f"{'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}" for e in exc.errors())
        print(f"error: configuration: {said}", file=sys.stderr)
        return 2
    except (KafkaException, RuntimeError) as exc:
        print(f"error: the broker failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
