"""Deliveries in MongoDB (FerretDB in development), through the runtime's aggregate store.

A delivery's id derives from (event, recipient, template), so a redelivered event inserts
nothing new (a unique ``_id``). Every later change is one conditional write on the version the
delivery was read at (``AggregateStore.save``): of two instances deciding on the same version,
exactly one is stored and the other gets ``Stale``. That is also the send claim: moving a
delivery to ``sending`` is such a write (``service_layer/sending.py``).

The domain's ``Delivery`` is a frozen dataclass; this module maps it to and from its document.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from pydantic import ConfigDict
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_contracts import Event
from secop_runtime.aggregates import Aggregate, AggregateStore, Duplicate, Store
from secop_runtime.mongo import ensure_indexes, lookup_index

from notification.domain.delivery import ACTIVE, Delivery, State

DELIVERIES = "deliveries"
_FIELDS = tuple(f.name for f in fields(Delivery) if f.name not in ("id", "version"))


class DeliveryDocument(Aggregate):
    """A delivery as stored: its fields are the dataclass's (kept as they are, unvalidated:
    the dataclass is the model), plus ``_id`` and the version ``_v``."""

    model_config = ConfigDict(extra="allow")


def to_document(d: Delivery) -> dict[str, Any]:
    doc = {name: getattr(d, name) for name in _FIELDS}
    doc.update(_id=d.id, _v=d.version, history=list(d.history), recipient_domain=d.domain)
    return doc


def from_document(doc: dict[str, Any]) -> Delivery:
    values = {k: doc[k] for k in _FIELDS if k in doc}
    values["history"] = tuple(doc.get("history") or ())
    return Delivery(id=doc["_id"], version=doc.get("_v", 0), **values)


def _of(record: DeliveryDocument) -> Delivery:
    return from_document(record.document())


def _apply(record: DeliveryDocument, d: Delivery) -> None:
    """Make ``record`` hold ``d``; a field that became ``None`` leaves the document."""
    for name, value in to_document(d).items():
        if name not in ("_id", "_v"):
            setattr(record, name, value)


class Deliveries(ABC):
    """What the service layer sees; :class:`DeliveryStore` and the fake differ only in how
    they select (MongoDB queries, or Python over the memory store's documents)."""

    def __init__(self, records: Store[DeliveryDocument]) -> None:
        self.records = records

    async def add(self, d: Delivery) -> Delivery | None:
        """Store a new delivery (version 1); ``None`` when it exists (a redelivered event)."""
        record = DeliveryDocument.model_validate(to_document(d))
        try:
            await self.records.add(record)
        except Duplicate:
            return None
        return replace(d, version=record.version)

    async def get(self, delivery_id: str) -> Delivery | None:
        record = await self.records.get(delivery_id)
        return None if record is None else _of(record)

    async def save(self, d: Delivery, *events: Event, was: Delivery) -> Delivery:
        """Store ``d``, decided on ``was``, with its events, if nobody saved since ``was`` was
        read (else ``Stale``); returns ``d`` at its new version."""
        record = self.records.load(to_document(was))
        _apply(record, d)
        await self.records.save(record, *events)
        return replace(d, version=record.version)

    async def change(
        self, delivery_id: str, decide: Callable[[Delivery], Delivery], missing: str
    ) -> Delivery:
        """Load, ``decide``, save; decided again on the newer state after a lost race."""

        def on_record(record: DeliveryDocument) -> list[Event]:
            _apply(record, decide(_of(record)))
            return []

        return _of(await self.records.change(delivery_id, on_record, missing))

    @abstractmethod
    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Active deliveries whose time has come, oldest first."""

    @abstractmethod
    async def search(
        self, *, recipient: str | None, state: State | None, since: datetime | None, limit: int
    ) -> list[Delivery]:
        """Newest first, by exact recipient, state and time of queueing."""


class DeliveryStore(Deliveries):
    records: AggregateStore[DeliveryDocument]

    def __init__(self, db: AsyncDatabase) -> None:
        super().__init__(AggregateStore(db[DELIVERIES], DeliveryDocument))

    async def create_indexes(self) -> None:
        # Named here, as earlier versions named them (MongoDB refuses an index that exists
        # under another name).
        await ensure_indexes(
            self.records.collection,
            lookup_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)], "due"),
            lookup_index([("recipient", ASCENDING), ("queued_at", DESCENDING)], "by_recipient"),
            IndexModel([("queued_at", DESCENDING)], name="by_time"),
        )

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """One query per active state (an equality the index narrows, on FerretDB too, to that
        state's deliveries: the sent ones, nearly all of them, are never read)."""
        found: list[Delivery] = []
        for state in sorted(ACTIVE):
            query = {"state": state, "next_attempt_at": {"$lte": now}}
            found += await self._select(query, ("next_attempt_at", ASCENDING), limit)
        return sorted(found, key=lambda d: d.next_attempt_at)[:limit]

    async def search(
        self, *, recipient: str | None, state: State | None, since: datetime | None, limit: int
    ) -> list[Delivery]:
        query: dict[str, Any] = {}
        if recipient:
            query["recipient"] = recipient
        if state:
            query["state"] = state
        if since:
            query["queued_at"] = {"$gte": since}
        return await self._select(query, ("queued_at", DESCENDING), limit)

    async def _select(
        self, query: dict[str, Any], order: tuple[str, int], limit: int
    ) -> list[Delivery]:
        cursor = self.records.collection.find(query).sort(*order).limit(limit)
        return [from_document(doc) for doc in await cursor.to_list()]
