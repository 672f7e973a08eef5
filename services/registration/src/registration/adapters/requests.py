"""Self-service requests waiting to be worked on: recovery of a username or password, and a
new confirmation link.

The HTTP answer is given once the request is stored here, the same single insert whoever it
concerns; a worker does the rest. So neither the answer nor its timing says whether anyone
matched, and an accepted request survives a restart. What was typed stays only until the
request is done.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.mongo import ensure_indexes

REQUESTS = "self_service_requests"
#: Requests that kept failing, kept whole for an operator to look at and re-queue.
DEAD_REQUESTS = "self_service_requests_dead"
#: A worker that crashed mid-request gives it up after this long; another takes it. A request
#: that failed waits longer each time (the lease doubles with each try).
LEASE_S = 60
#: Tries before a request that keeps failing is set aside (about 17 hours of doubling leases).
MAX_TRIES = 10


class RequestQueue:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[REQUESTS]

    async def create_indexes(self) -> None:
        await ensure_indexes(self._col, IndexModel([("lease_until", ASCENDING)], name="lease"))

    async def add(self, kind: str, fields: dict[str, Any], now: datetime) -> None:
        await self._col.insert_one(
            {"_id": uuid.uuid4().hex, "kind": kind, **fields, "at": now, "lease_until": now}
        )

    async def take(self, owner: str, now: datetime) -> dict[str, Any] | None:
        """The oldest request nobody is working on, leased to ``owner``: one conditional
        update, so of two workers only one gets it. A request that failed before waits
        longer each time (the lease doubles with each try)."""
        request = await self._col.find_one_and_update(
            {"lease_until": {"$lte": now}},
            {
                "$set": {"lease_until": now + timedelta(seconds=LEASE_S), "owner": owner},
                "$inc": {"tries": 1},
            },
            sort=[("lease_until", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if request is not None and request["tries"] > 1:
            backoff = now + timedelta(seconds=LEASE_S * 2 ** min(request["tries"] - 1, 10))
            await self._col.update_one(
                {"_id": request["_id"], "owner": owner}, {"$set": {"lease_until": backoff}}
            )
        return request

    async def done(self, request_id: str) -> None:
        await self._col.delete_one({"_id": request_id})

    async def set_aside(self, request: dict[str, Any], now: datetime) -> None:
        """Move a request that kept failing out of the queue, whole (never dropped)."""
        await self._col.database[DEAD_REQUESTS].replace_one(
            {"_id": request["_id"]}, {**request, "set_aside_at": now}, upsert=True
        )
        await self.done(request["_id"])
