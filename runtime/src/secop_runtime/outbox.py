"""Publish what you stored, store what you publish.

A state change and the events it causes are written in one document write: the events wait in
the document's ``_outbox`` array (``_outbox_pending`` marks it: a string, so that a look-up index
finds pending documents without reading the others, on FerretDB too). The relay claims such
documents with an expiring claim (a unique insert in ``outbox_claims``), publishes their events
in order through the idempotent producer and only then removes them. A crash in between
republishes (consumers dedupe on ``event_id``); nothing is ever dropped, and no multi-document
transaction is needed (the development database has none). The relay learns of new events one
way: the driver's command listener hints it (``outbox_hints``); a periodic scan finds the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DeleteOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from secop_contracts import Event

from secop_runtime import metrics, tracing
from secop_runtime.context import working_on
from secop_runtime.leases import Leases
from secop_runtime.mongo import ensure_indexes, lookup_index
from secop_runtime.worker import PollingWorker

OUTBOX = "_outbox"
PENDING = "_outbox_pending"
#: What ``PENDING`` holds while events wait (earlier versions wrote ``True``: still honoured).
PENDING_MARK = "waiting"
#: Statements per bulk removal. FerretDB 1.24 holds one of its (at most 100) SQLite connections
#: per statement of an update command until the whole command ends: a bulk of 100 or more
#: exhausts the pool and deadlocks the database (seen after a broker outage let hundreds of
#: hinted documents pile up).
REMOVAL_CHUNK = 32
#: How often the relay still looks for documents flagged ``True`` once none is left.
LEGACY_SCAN_EVERY_S = 600.0
#: A filter for documents with no events waiting (``remove`` and retention passes use it).
NOTHING_PENDING: dict[str, Any] = {PENDING: {"$nin": [True, PENDING_MARK]}}
#: When the latest events were added: the periodic scan leaves fresh ones to their writer's hint.
PENDING_SINCE = "_outbox_since"
#: The relays' leases on documents they publish (see ``leases``).
CLAIMS = "outbox_claims"

#: Events with no aggregate document of their own (analytics facts) wait here, one per document.
STANDALONE_COLLECTION = "outbox_events"


def stored(event: Event) -> dict[str, Any]:
    """The event as it waits in a document: the exact bytes to publish, plus routing, plus
    the trace context of what caused it (the relay's publish continues that trace)."""
    item = {
        "event_id": str(event.event_id),
        "topic": event.TOPIC,
        "key": event.key,
        "correlation_id": event.correlation_id,
        "value": event.to_json().decode(),
    }
    if trace := tracing.carrier():
        item["trace"] = trace
    return item


def with_events(update: dict[str, Any], *events: Event) -> dict[str, Any]:
    """Add events to a MongoDB update document so they are stored in the same write."""
    if not events:
        return update
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[OUTBOX] = {"$each": [stored(e) for e in events]}
    merged.setdefault("$set", {}).update({PENDING: PENDING_MARK, PENDING_SINCE: datetime.now(UTC)})
    return merged


def new_document(document: dict[str, Any], *events: Event) -> dict[str, Any]:
    """A document to insert together with the events its creation causes."""
    if not events:
        return document
    return {
        **document,
        OUTBOX: [stored(e) for e in events],
        PENDING: PENDING_MARK,
        PENDING_SINCE: datetime.now(UTC),
    }


async def ensure_outbox_indexes(db: AsyncDatabase, collections: Iterable[str]) -> None:
    for name in [*collections, STANDALONE_COLLECTION]:
        await ensure_indexes(db[name], lookup_index(PENDING, "outbox_pending"))


Publish = Callable[[dict[str, Any]], Awaitable[None]]


class OutboxRelay:
    """Moves stored events to Kafka. Safe to run in every instance at once (leases)."""

    def __init__(
        self,
        db: AsyncDatabase,
        collections: Sequence[str],
        publish: Publish,
        *,
        owner: str,
        lease_s: float = 30.0,
        poll_interval_s: float = 0.5,
        scan_interval_s: float = 5.0,
        scan_interval_max_s: float = 60.0,
        scan_grace_s: float = 2.0,
        batch: int = 64,
        batch_linger_s: float = 0.0,
    ) -> None:
        self._db = db
        self._leases = Leases(db[CLAIMS], owner)
        self._collections = [*collections, STANDALONE_COLLECTION]
        self._publish = publish
        self._lease = timedelta(seconds=lease_s)
        self._batch = batch
        self._scan_every = scan_interval_s
        self._scan_max = max(scan_interval_max_s, scan_interval_s)
        self._scan_grace = timedelta(seconds=scan_grace_s)
        #: (collection, _id) -> the document as inserted, or None: read it back.
        self._hinted: dict[tuple[str, Any], dict[str, Any] | None] = {}
        self._interval = scan_interval_s
        self._next_scan = 0.0
        #: When to look again, per collection, for documents flagged the earlier way (``True``,
        #: which no index narrows, so each look reads the whole collection on FerretDB): at
        #: every scan while some are found, then every ``LEGACY_SCAN_EVERY_S`` (an instance of
        #: the previous version may still write them during a rolling upgrade).
        self._legacy_due: dict[str, float] = dict.fromkeys(self._collections, 0.0)
        self._linger = batch_linger_s
        self._last_batch = float("-inf")
        self._worker = PollingWorker("outbox-relay", self._step, poll_interval_s)

    def hint(self, hints: Sequence[tuple[str, Any, dict[str, Any] | None]]) -> None:
        """These documents were just stored with pending events (see ``outbox_hints``)."""
        managed = set(self._collections)
        for name, doc_id, written in hints:
            if name in managed:
                key = (name, doc_id)
                # Hinted twice before a drain: it changed since it was written, so read it.
                self._hinted[key] = None if key in self._hinted else written
        self._worker.wake()

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def drain(self, older_than: timedelta = timedelta(0)) -> int:
        """Publish everything pending (for at least ``older_than``); returns how many events
        went out."""
        total = 0
        for name in self._collections:
            while True:
                claimed = await self._claim(name, datetime.now(UTC) - older_than)
                if not claimed:
                    break
                total += await self._relay(name, claimed)
        return total

    async def _step(self) -> bool:
        """Publish hinted documents at once; scan every collection now and then for the rest.
        True while hints keep arriving (the worker then steps again without waiting).

        A scan that finds nothing doubles the wait before the next (up to the maximum): in
        steady state hints publish everything, and on FerretDB each scan reads every document
        of every outbox collection, a cost that grows with the data. Anything found, and any
        failure (hints lost to a broker outage, say), brings scans back to the base interval.
        """
        now = asyncio.get_running_loop().time
        try:
            if self._hinted:
                # An event after a quiet spell goes at once; under load, batches are spaced by
                # the linger, and what arrives meanwhile joins the next (one removal each).
                if (wait := self._last_batch + self._linger - now()) > 0:
                    await asyncio.sleep(wait)
                self._last_batch = now()
                await self._drain_hinted()
            if now() >= self._next_scan:
                # Documents pending for less than the grace are being published through their
                # writer's hint: claiming them too would only race it.
                found = await self.drain(older_than=self._scan_grace)
                grown = min(self._interval * 2, self._scan_max)
                self._interval = self._scan_every if found else grown
                self._next_scan = now() + self._interval
        except Exception:
            self._interval = self._scan_every
            self._next_scan = min(self._next_scan, now() + self._interval)
            raise  # the worker logs it and steps again after its poll interval
        return bool(self._hinted)

    async def _drain_hinted(self) -> int:
        """Publish the documents this process just wrote, without claims.

        Claims arbitrate between relays of different instances; a hinted document was written
        by this process a moment ago, so another instance reaches it only through its periodic
        scan in the same instant, and the worst outcome is a duplicate publish, which consumers
        skip by ``event_id``. Skipping the claim's two writes matters on FerretDB, where a write
        costs milliseconds of CPU and one database's writes run one at a time.
        """
        hinted, self._hinted = self._hinted, {}
        docs = [
            (name, written or await self._db[name].find_one({"_id": doc_id}))
            for (name, doc_id), written in hinted.items()
        ]
        ready: dict[str, list[dict[str, Any]]] = {}
        for name, doc in docs:
            if doc and doc.get(OUTBOX):
                ready.setdefault(name, []).append({**doc, "_claim": None})
        return sum([await self._relay(name, batch) for name, batch in ready.items()])

    async def _claim(self, name: str, settled_before: datetime) -> list[dict[str, Any]]:
        """Take up to ``batch`` pending documents whose events nobody else is publishing."""
        settled = {
            # Documents stored before PENDING_SINCE existed have no such field.
            "$or": [{PENDING_SINCE: {"$lte": settled_before}}, {PENDING_SINCE: {"$exists": False}}],
        }
        col = self._db[name]
        candidates = await col.find({PENDING: PENDING_MARK, **settled}).limit(self._batch).to_list()
        now = asyncio.get_running_loop().time()
        if now >= self._legacy_due[name] and len(candidates) < self._batch:
            legacy = await col.find({PENDING: True, **settled}).limit(self._batch).to_list()
            if not legacy:
                self._legacy_due[name] = now + LEGACY_SCAN_EVERY_S
            candidates += legacy[: self._batch - len(candidates)]
        claimed: list[dict[str, Any]] = []
        for doc in candidates:
            taken = await self._claim_doc(name, doc)
            if taken:
                claimed.append(taken)
        return claimed

    async def _claim_doc(self, name: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        """The document, leased and read again, or None when there is nothing for us to do."""
        if not doc.get(OUTBOX):
            # Published already; only the flag was left behind (unless events came since).
            await self._db[name].update_one(
                {"_id": doc["_id"], f"{OUTBOX}.0": {"$exists": False}}, {"$unset": {PENDING: ""}}
            )
            return None
        lease = await self._leases.take(f"{name}:{doc['_id']}", self._lease)
        if lease is None:
            return None  # another instance is publishing these events right now
        fresh = await self._db[name].find_one({"_id": doc["_id"]})
        if fresh and fresh.get(OUTBOX):
            return {**fresh, "_claim": lease}
        await self._leases.release(lease)
        return None

    async def _relay(self, name: str, docs: list[dict[str, Any]]) -> int:
        """Publish the documents' events (each document's in order, documents side by side),
        then remove what went out from all of them in one write (a bulk of updates by
        ``_id``), so a busy relay costs one database command per batch, not per document.
        A document whose publishing failed keeps its events for the next try; the others are
        still removed, and the first failure is raised after."""
        outcomes = await asyncio.gather(
            *(self._publish_document(doc) for doc in docs), return_exceptions=True
        )
        published = [doc for doc, out in zip(docs, outcomes, strict=True) if out is None]
        if published:
            await self._remove_published(self._db[name], name, published)
        for doc in docs:
            if doc["_claim"] is not None:
                await self._leases.release(doc["_claim"])
        for out in outcomes:
            if isinstance(out, BaseException):
                raise out
        return sum(len(doc[OUTBOX]) for doc in published)

    async def _publish_document(self, doc: dict[str, Any]) -> None:
        for item in doc[OUTBOX]:  # in order: one aggregate's events keep their sequence
            with working_on(item.get("correlation_id")):
                await self._publish(item)
            metrics.EVENTS_PUBLISHED.labels(topic=item["topic"]).inc()

    @staticmethod
    async def _remove_published(collection: Any, name: str, docs: list[dict[str, Any]]) -> None:
        """Remove exactly the events that went out, in writes addressed by ``_id``.

        A standalone event's document simply goes (nothing ever appends to it). Otherwise:
        writers only append, and only relays remove a prefix, so an outbox that still holds
        as many events as we read, ending with our last one, holds exactly ours: then one
        update empties it and lowers the flag. If any document did not match (events were
        appended meanwhile, or another relay removed ours), a second bulk pulls what went out
        of every document (a no-op where it is gone already) and leaves the flag up for the
        rest. Each update is atomic on its document, so a writer's append is never lost.
        """
        for start in range(0, len(docs), REMOVAL_CHUNK):
            await OutboxRelay._remove_chunk(collection, name, docs[start : start + REMOVAL_CHUNK])

    @staticmethod
    async def _remove_chunk(collection: Any, name: str, docs: list[dict[str, Any]]) -> None:
        if name == STANDALONE_COLLECTION:
            await collection.bulk_write([DeleteOne({"_id": d["_id"]}) for d in docs], ordered=False)
            return
        emptied = []
        for doc in docs:
            events = doc[OUTBOX]
            n = len(events)
            exactly_ours = {
                "_id": doc["_id"],
                OUTBOX: {"$size": n},
                f"{OUTBOX}.{n - 1}.event_id": events[-1]["event_id"],
            }
            emptied.append(UpdateOne(exactly_ours, {"$set": {OUTBOX: []}, "$unset": {PENDING: ""}}))
        done = await collection.bulk_write(emptied, ordered=False)
        if done.matched_count < len(docs):
            pulls = [UpdateOne({"_id": d["_id"]}, {"$pullAll": {OUTBOX: d[OUTBOX]}}) for d in docs]
            await collection.bulk_write(pulls, ordered=False)


async def store_standalone(db: AsyncDatabase, *events: Event) -> None:
    """Events that change no state of ours (analytics facts): one document per event."""
    if events:
        await db[STANDALONE_COLLECTION].insert_many(
            [new_document({"_id": str(e.event_id)}, e) for e in events]
        )
