"""The one claim primitive: at most one holder per key until its lease runs out.

For work that must not run twice at once across instances (publishing a document's events,
sending an email). A lease is one conditional upsert of the document named by the key: it
matches only a free or expired lease, and when a live one exists the upsert's insert meets the
unique ``_id`` and fails. MongoDB applies it atomically; so does our FerretDB build (patch
``updateDocument``), as ``tests/integration/test_stores.py`` proves on every server reachable.
A holder that dies simply lets its lease expire.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from secop_runtime.mongo import ensure_indexes, expiry_index, is_duplicate


@dataclass(frozen=True)
class Lease:
    key: str
    holder: str
    until: datetime


class Leases:
    def __init__(self, collection: AsyncCollection, owner: str) -> None:
        self._col = collection
        self._owner = owner

    async def take(self, key: str, duration: timedelta) -> Lease | None:
        """The lease on ``key`` for ``duration``, or None while someone else holds it."""
        now = datetime.now(UTC)
        lease = Lease(key, f"{self._owner}:{uuid.uuid4().hex}", now + duration)
        try:
            await self._col.update_one(
                {"_id": key, "until": {"$lte": now}},
                {"$set": {"holder": lease.holder, "until": lease.until}},
                upsert=True,
            )
        except OperationFailure as exc:
            if is_duplicate(exc):
                return None
            raise
        return lease

    async def release(self, lease: Lease) -> None:
        """Let the next taker in now (only if the lease is still ours)."""
        await self._col.delete_one({"_id": lease.key, "holder": lease.holder})

    async def ensure_indexes(self, older_than: timedelta) -> None:
        """Where the database has TTL indexes, it forgets run-out leases as ``prune`` does."""
        await ensure_indexes(self._col, expiry_index("until", older_than))

    async def prune(self, older_than: timedelta) -> int:
        """Forget leases that ran out long ago (a crashed holder's)."""
        cutoff = datetime.now(UTC) - older_than
        return (await self._col.delete_many({"until": {"$lt": cutoff}})).deleted_count
