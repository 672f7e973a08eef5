"""Deliveries and send claims in MongoDB (FerretDB in development).

Every rule that must hold between instances is decided by a unique ``_id``: a delivery's id
derives from (event, recipient, template), and the right to act on a delivery is a unique
insert in ``send_claims`` (``<delivery_id>:<generation>``). Conditional updates would not do:
FerretDB applies them as query-then-replace, so two could both succeed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure
from secop_contracts import Event
from secop_runtime.mongo import ensure_indexes
from secop_runtime.outbox import new_document, with_events

from notification.domain.delivery import ACTIVE, Delivery, State

DELIVERIES = "deliveries"
CLAIMS = "send_claims"
#: Fields the claim holder rewrites after each step (everything else is set at creation).
MUTABLE = (
    "state",
    "attempts",
    "attempt_limit",
    "next_attempt_at",
    "last_error",
    "permanent",
    "sent_at",
    "updated_at",
    "history",
)


def to_document(d: Delivery) -> dict[str, Any]:
    doc = {f.name: getattr(d, f.name) for f in fields(Delivery)}
    doc["_id"] = doc.pop("id")
    doc["history"] = list(d.history)
    doc["recipient_domain"] = d.domain
    return doc


def from_document(doc: dict[str, Any]) -> Delivery:
    names = {f.name for f in fields(Delivery)} - {"id"}
    values = {k: v for k, v in doc.items() if k in names}
    values["history"] = tuple(doc.get("history") or ())
    return Delivery(id=doc["_id"], **values)


class DeliveryStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[DELIVERIES]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(
            self._col,
            IndexModel([("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
            IndexModel([("recipient", ASCENDING), ("queued_at", DESCENDING)], name="by_recipient"),
            IndexModel([("queued_at", DESCENDING)], name="by_time"),
        )

    async def add(self, d: Delivery) -> bool:
        """Create the record; ``False`` when it exists (redelivery, another instance)."""
        try:
            await self._col.insert_one(new_document(to_document(d)))
            return True
        except DuplicateKeyError:
            return False

    async def get(self, delivery_id: str) -> Delivery | None:
        doc = await self._col.find_one({"_id": delivery_id})
        return from_document(doc) if doc else None

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        cursor = (
            self._col.find({"state": {"$in": list(ACTIVE)}, "next_attempt_at": {"$lte": now}})
            .sort("next_attempt_at", ASCENDING)
            .limit(limit)
        )
        return [from_document(doc) for doc in await cursor.to_list()]

    async def save(self, d: Delivery, *events: Event) -> None:
        """Write the holder's new state, with its events, as one document write (outbox)."""
        values = to_document(d)
        update = with_events({"$set": {k: values[k] for k in MUTABLE}}, *events)
        await self._col.update_one({"_id": d.id}, update)

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
        cursor = self._col.find(query).sort("queued_at", DESCENDING).limit(limit)
        return [from_document(doc) for doc in await cursor.to_list()]


@dataclass(frozen=True)
class Claim:
    id: str
    delivery_id: str
    n: int


class SendClaims:
    """The right to act on one delivery for a while: one holder at a time, across instances.

    Generation ``n`` of a delivery's claim is the document ``<delivery_id>:<n>``; every read and
    write is by ``_id`` (on FerretDB any other filter reads the whole collection, and claims
    accumulate one per attempt).
    """

    #: Generations walked before giving up (each attempt or takeover adds one).
    MAX_GENERATIONS = 1000

    def __init__(self, db: AsyncDatabase, owner: str) -> None:
        self._col = db[CLAIMS]
        self._owner = owner

    async def ensure_indexes(self) -> None:
        """Nothing beyond ``_id``: claims are only ever read and written by it. An index from
        an earlier version only slowed writes, so it goes."""
        with contextlib.suppress(OperationFailure):
            await self._col.drop_index("latest")

    async def take(self, delivery_id: str, now: datetime, lease: timedelta) -> Claim | None:
        """Insert the first generation that is free, unless a live, unreleased one comes first.

        Two takers that reach the same free generation insert the same ``_id``: exactly one
        wins. A holder that died leaves a claim that stops counting when its lease ends.
        Winning generation 0 means nobody ever acted on the delivery before.
        """
        for n in range(self.MAX_GENERATIONS):
            claim = Claim(f"{delivery_id}:{n}", delivery_id, n)
            try:
                await self._col.insert_one(
                    {
                        "_id": claim.id,
                        "delivery_id": delivery_id,
                        "n": n,
                        "owner": self._owner,
                        "until": now + lease,
                        "released": False,
                    }
                )
                return claim
            except DuplicateKeyError:
                head = await self._col.find_one({"_id": claim.id})
            if head is not None and not head.get("released") and head["until"] > now:
                return None  # held right now
            # Released, or its holder's lease ended (or it vanished): the next generation.
        raise RuntimeError(f"delivery {delivery_id} has {self.MAX_GENERATIONS} claims")

    async def release(self, claim: Claim) -> None:
        """Done (result recorded): the next attempt need not wait for the lease to end.

        The generation stays, marked released, so the next taker walks past it to ``n + 1``;
        deleting it would let a taker reuse ``n`` while a later generation is still held.
        """
        await self._col.update_one({"_id": claim.id}, {"$set": {"released": True}})
