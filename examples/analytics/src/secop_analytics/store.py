"""The DuckDB file: every event as it came (``events``), and what could not be read as one.

An event is stored once, by its ``event_id`` (the primary key): a record read again, after a
crash between DuckDB's commit and Kafka's, or by a second consumer group, changes nothing. A
record that is not an event of the contract (bad JSON, a missing field, a topic that does not
match its ``event_type``) is kept aside in ``rejected_records`` rather than dropped or retried
forever.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from secop_analytics.views import VIEWS

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id UUID PRIMARY KEY,
    type VARCHAR NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    producer VARCHAR NOT NULL,
    key VARCHAR,
    correlation_id VARCHAR,
    causation_id UUID,
    payload JSON NOT NULL,
    topic VARCHAR NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS rejected_records (
    topic VARCHAR NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    error VARCHAR NOT NULL,
    value VARCHAR,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (topic, "partition", "offset")
);
"""
INSERT_EVENT = """
INSERT INTO events (event_id, type, schema_version, occurred_at, producer, key, correlation_id,
                    causation_id, payload, topic, "partition", "offset")
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""
INSERT_REJECTED = """
INSERT INTO rejected_records (topic, "partition", "offset", error, value)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""


class Envelope(BaseModel):
    """What every copy carries: the contracts' envelope, the payload left as JSON. Fields
    added to the contract later are ignored (changes within a schema version are additive)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime
    producer: str
    correlation_id: str | None = None
    causation_id: UUID | None = None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Record:
    """One Kafka record, as the loader hands it over."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Added:
    read: int = 0
    stored: int = 0
    rejected: int = 0

    @property
    def duplicates(self) -> int:
        return self.read - self.stored - self.rejected

    def __iadd__(self, other: Added) -> Added:
        self.read += other.read
        self.stored += other.stored
        self.rejected += other.rejected
        return self


def parse(record: Record, copy_prefix: str) -> Envelope:
    """The record's event; ``ValueError`` when it is none, or not the one its topic holds."""
    event = Envelope.model_validate_json(record.value or b"")
    if record.topic != copy_prefix + event.event_type:
        raise ValueError(f"an event of type {event.event_type!r} on {record.topic!r}")
    return event


def _error(exc: Exception) -> str:
    # pydantic's text repeats the values it refused; the fields and kinds are enough.
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors())
    return str(exc)


class Store:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @classmethod
    def open(cls, path: Path | str, read_only: bool = False) -> Store:
        """The store in ``path`` (``":memory:"`` for none); created with its views if new."""
        if read_only and not Path(path).exists():
            raise FileNotFoundError(f"{path} does not exist: run `secop-analytics load` first")
        store = cls(duckdb.connect(str(path), read_only=read_only))
        if not read_only:
            store.con.execute(SCHEMA)
            for sql in VIEWS.values():  # replaced each time: the views follow this code
                store.con.execute(sql)
        return store

    def close(self) -> None:
        self.con.close()

    def count(self, table: str = "events") -> int:
        [(n,)] = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()  # noqa: S608
        return int(n)

    def add(self, records: Iterable[Record], copy_prefix: str) -> Added:
        """Store a batch in one DuckDB transaction; returns what became of its records."""
        events, rejected, read = [], [], 0
        for record in records:
            read += 1
            try:
                events.append(_row(parse(record, copy_prefix), record))
            except ValueError as exc:  # ValidationError is one
                value = (record.value or b"").decode(errors="replace")
                rejected.append((record.topic, record.partition, record.offset, _error(exc), value))
        self.con.begin()
        try:
            before = self.count()
            if events:
                self.con.executemany(INSERT_EVENT, events)
            if rejected:
                self.con.executemany(INSERT_REJECTED, rejected)
            stored = self.count() - before
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        return Added(read=read, stored=stored, rejected=len(rejected))


def _row(event: Envelope, record: Record) -> tuple[Any, ...]:
    key = record.key.decode(errors="replace") if record.key is not None else None
    return (
        event.event_id,
        event.event_type,
        event.schema_version,
        event.occurred_at,
        event.producer,
        key,
        event.correlation_id,
        event.causation_id,
        json.dumps(event.payload, ensure_ascii=False),
        record.topic,
        record.partition,
        record.offset,
    )
