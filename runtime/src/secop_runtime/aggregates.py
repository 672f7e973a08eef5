"""One way to store an aggregate: load it, let the domain decide, save the change with its events.

An aggregate is one document with a version (``_v``). Saving is a single update addressed by
``_id`` *and* the version that was loaded: it sets what changed, bumps the version and appends
the change's events to the document's outbox (see ``outbox``), all in one write. If someone
else saved in between, nothing matches and :class:`Stale` is raised; :meth:`change` then loads
again and lets the domain decide again. So a decision is always taken on the state it changes,
and the state and its events are stored together or not at all.

This relies on two guarantees only: a single-document update is atomic, and a unique index
refuses a second holder. MongoDB gives both; our FerretDB build gives both too (its patches
``updateDocument`` and ``Query``), and ``tests/integration/test_stores.py`` proves them on every
server the suite can reach, so an upgrade that breaks one fails loudly.

:class:`MemoryStore` is the same contract in memory, for the service-layer unit tier.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure
from secop_contracts import Event

from secop_runtime.errors import Contended, NotFound
from secop_runtime.mongo import ensure_indexes, is_duplicate, lookup_index
from secop_runtime.outbox import NOTHING_PENDING, new_document, with_events

VERSION = "_v"
#: How often :meth:`AggregateStore.change` decides again after losing a race before it gives up.
RETRIES = 10
#: The first wait after a lost race is up to this long (doubling up to 64 times as long).
BACKOFF_S = 0.002


class Aggregate(BaseModel):
    """An aggregate's state as one document. Subclasses add fields and the rules that change
    them; the store diffs what was loaded against what is saved, so rules just assign."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", validate_assignment=True)

    id: str = Field(alias="_id")
    version: int = Field(default=0, alias=VERSION)

    _stored: dict[str, Any] | None = PrivateAttr(default=None)

    def document(self) -> dict[str, Any]:
        """The fields as stored: aliases, and ``None`` left out (absent, not null: a unique
        index would take two nulls for one value)."""
        return self.model_dump(by_alias=True, exclude_none=True)


A = TypeVar("A", bound=Aggregate)


class Stale(Exception):
    """Someone saved the aggregate after we loaded it: load again and decide again."""


class Duplicate(Exception):
    """A unique key of the aggregate already belongs to another document."""


Decide = Callable[[A], "Sequence[Event] | Awaitable[Sequence[Event]]"]


class Store(Protocol[A]):
    """What service layers see; the MongoDB store and the memory fake both are one."""

    def load(self, document: Mapping[str, Any]) -> A: ...
    async def get(self, aggregate_id: str) -> A | None: ...
    async def find_one(self, **equals: Any) -> A | None: ...
    async def find(self, *, limit: int = 100, **equals: Any) -> list[A]: ...
    async def add(self, aggregate: A, *events: Event) -> None: ...
    async def save(self, aggregate: A, *events: Event) -> None: ...
    async def remove(self, aggregate: A) -> None: ...
    async def change(
        self, aggregate_id: str, decide: Decide[A], missing: str = ..., retries: int | None = ...
    ) -> A: ...


def changes(aggregate: Aggregate) -> tuple[dict[str, Any], list[str]]:
    """What to ``$set`` and ``$unset`` to turn the loaded document into the current one."""
    fixed = ("_id", VERSION)
    now = {k: v for k, v in aggregate.document().items() if k not in fixed}
    before = {k: v for k, v in (aggregate._stored or {}).items() if k not in fixed}
    to_set = {k: v for k, v in now.items() if before.get(k, _ABSENT) != v}
    return to_set, [k for k in before if k not in now]


_ABSENT = object()


class _Changing(Generic[A]):
    """The load-decide-save loop both stores share."""

    model: type[A]
    #: Races lost in a row before ``change`` gives up: a store of aggregates many people
    #: write at once (a busy case, an account's roster) may allow more.
    retries: int

    async def get(self, aggregate_id: str) -> A | None:
        raise NotImplementedError

    async def save(self, aggregate: A, *events: Event) -> None:
        raise NotImplementedError

    async def change(
        self,
        aggregate_id: str,
        decide: Decide[A],
        missing: str = "not found",
        retries: int | None = None,
    ) -> A:
        """Load, decide, save; on a lost race decide again on the newer state. ``decide``
        changes the aggregate and returns the events the change causes, or raises a
        ``DomainError``. Raises :class:`NotFound` (saying ``missing``) when there is no such
        aggregate, :class:`Contended` (409) when it loses ``retries`` (the store's
        ``retries``) races in a row. Between rounds it waits a random moment that grows, so
        a burst of writers on one aggregate spreads out instead of colliding again."""
        for attempt in range(retries or self.retries):
            if attempt:
                await asyncio.sleep(random.uniform(0, BACKOFF_S * min(2**attempt, 64)))
            aggregate = await self.get(aggregate_id)
            if aggregate is None:
                raise NotFound(missing)
            result = decide(aggregate)
            events = await result if inspect.isawaitable(result) else result
            try:
                await self.save(aggregate, *events)
                return aggregate
            except Stale:
                continue
        raise Contended("it was being changed by someone else at the same time: try again")


class AggregateStore(_Changing[A]):
    """Aggregates of one type in one MongoDB collection."""

    def __init__(
        self,
        collection: AsyncCollection,
        model: type[A],
        *,
        unique: Iterable[str] = (),
        indexed: Iterable[str | Sequence[tuple[str, int]]] = (),
        retries: int = RETRIES,
    ) -> None:
        self.collection = collection
        self.model = model
        self.retries = retries
        self._unique = tuple(unique)
        self._indexed = tuple(indexed)

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self.collection,
            *(IndexModel([(k, ASCENDING)], unique=True, name=f"uniq_{k}") for k in self._unique),
            *(_index(spec) for spec in self._indexed),
        )

    def load(self, document: Mapping[str, Any]) -> A:
        aggregate = self.model.model_validate(_stored_fields(document))
        aggregate._stored = aggregate.document()
        return aggregate

    async def get(self, aggregate_id: str) -> A | None:
        doc = await self.collection.find_one({"_id": aggregate_id})
        return None if doc is None else self.load(doc)

    async def find_one(self, **equals: Any) -> A | None:
        doc = await self.collection.find_one(equals)
        return None if doc is None else self.load(doc)

    async def find(self, *, limit: int = 100, **equals: Any) -> list[A]:
        docs = await self.collection.find(equals).limit(limit).to_list()
        return [self.load(d) for d in docs]

    async def add(self, aggregate: A, *events: Event) -> None:
        """Insert a new aggregate (version 1) with the events its creation causes."""
        doc = {**aggregate.document(), VERSION: 1}
        try:
            await self.collection.insert_one(new_document(doc, *events))
        except OperationFailure as exc:
            if is_duplicate(exc):
                raise Duplicate(str(aggregate.id)) from None
            raise
        aggregate.version = 1
        aggregate._stored = doc

    async def save(self, aggregate: A, *events: Event) -> None:
        """Store what changed since ``aggregate`` was loaded, and its events, if nobody saved
        it meanwhile (else :class:`Stale`). Nothing changed and no events: no write."""
        to_set, to_unset = changes(aggregate)
        if not (to_set or to_unset or events):
            return
        update: dict[str, Any] = {"$inc": {VERSION: 1}}
        if to_set:
            update["$set"] = to_set
        if to_unset:
            update["$unset"] = dict.fromkeys(to_unset, "")
        try:
            result = await self.collection.update_one(
                {"_id": aggregate.id, **_at_version(aggregate.version)},
                with_events(update, *events),
            )
        except OperationFailure as exc:
            if is_duplicate(exc):
                raise Duplicate(str(aggregate.id)) from None
            raise
        if result.matched_count == 0:
            raise Stale(str(aggregate.id))
        aggregate.version += 1
        aggregate._stored = {**aggregate.document(), VERSION: aggregate.version}

    async def remove(self, aggregate: A) -> None:
        """Delete the aggregate as loaded, once its events are published (else
        :class:`Stale`: it changed, or events still wait in its outbox; try again later)."""
        result = await self.collection.delete_one(
            {"_id": aggregate.id, **_at_version(aggregate.version), **NOTHING_PENDING}
        )
        if result.deleted_count == 0:
            raise Stale(str(aggregate.id))


def _stored_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the model reads it: the version is ``_v`` only (a plain ``version``
    field, as documents written before versions existed may hold, is not the store's)."""
    return {k: v for k, v in document.items() if k != "version"}


def _at_version(version: int) -> dict[str, Any]:
    # Documents written before versions existed have none: they are at version 0.
    return {VERSION: version} if version else {VERSION: {"$exists": False}}


def _index(spec: str | Sequence[tuple[str, int]]) -> IndexModel:
    """A look-up index (narrowed on FerretDB too) unless its first field is a path into
    sub-documents, which may be an array's."""
    keys = [(spec, ASCENDING)] if isinstance(spec, str) else list(spec)
    name = spec if isinstance(spec, str) else "_".join(k for k, _ in spec)
    return IndexModel(keys, name=name) if "." in keys[0][0] else lookup_index(keys, name)


class MemoryStore(_Changing[A]):
    """The same contract in memory: unique keys, versions, and the events each write stored
    (``events``, in order), for unit tests of service layers."""

    def __init__(
        self, model: type[A], *, unique: Iterable[str] = (), retries: int = RETRIES
    ) -> None:
        self.model = model
        self.retries = retries
        self._unique = tuple(unique)
        self.documents: dict[str, dict[str, Any]] = {}
        self.events: list[Event] = []

    def load(self, document: Mapping[str, Any]) -> A:
        aggregate = self.model.model_validate(copy.deepcopy(_stored_fields(document)))
        aggregate._stored = aggregate.document()
        return aggregate

    async def get(self, aggregate_id: str) -> A | None:
        doc = self.documents.get(aggregate_id)
        return None if doc is None else self.load(doc)

    async def find_one(self, **equals: Any) -> A | None:
        found = await self.find(limit=1, **equals)
        return found[0] if found else None

    async def find(self, *, limit: int = 100, **equals: Any) -> list[A]:
        docs = [d for d in self.documents.values() if _matches(d, equals)]
        return [self.load(d) for d in docs[:limit]]

    async def add(self, aggregate: A, *events: Event) -> None:
        doc = {**aggregate.document(), VERSION: 1}
        if doc["_id"] in self.documents or self._collides(doc):
            raise Duplicate(aggregate.id)
        self.documents[doc["_id"]] = copy.deepcopy(doc)
        self.events.extend(events)
        aggregate.version = 1
        aggregate._stored = doc

    async def save(self, aggregate: A, *events: Event) -> None:
        to_set, to_unset = changes(aggregate)
        if not (to_set or to_unset or events):
            return
        stored = self.documents.get(aggregate.id)
        if stored is None or stored.get(VERSION, 0) != aggregate.version:
            raise Stale(aggregate.id)
        doc = {k: v for k, v in stored.items() if k not in to_unset} | copy.deepcopy(to_set)
        doc[VERSION] = aggregate.version + 1
        if self._collides(doc):
            raise Duplicate(aggregate.id)
        self.documents[aggregate.id] = doc
        self.events.extend(events)
        aggregate.version += 1
        aggregate._stored = {**aggregate.document(), VERSION: aggregate.version}

    async def remove(self, aggregate: A) -> None:
        stored = self.documents.get(aggregate.id)
        if stored is None or stored.get(VERSION, 0) != aggregate.version:
            raise Stale(aggregate.id)
        del self.documents[aggregate.id]

    def _collides(self, doc: Mapping[str, Any]) -> bool:
        return any(
            key in doc and other.get(key) == doc[key]
            for key in self._unique
            for other_id, other in self.documents.items()
            if other_id != doc["_id"]
        )


def _matches(doc: Mapping[str, Any], equals: Mapping[str, Any]) -> bool:
    return all(doc.get(k, _ABSENT) == v for k, v in equals.items())


__all__ = [
    "Aggregate",
    "AggregateStore",
    "Duplicate",
    "MemoryStore",
    "Stale",
    "Store",
    "changes",
]
