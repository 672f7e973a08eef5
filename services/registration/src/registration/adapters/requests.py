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
#: A worker that crashed mid-request gives it up after this long; another takes it.
LEASE_S = 60
#: Tries before a request that keeps failing is dropped (and logged).
MAX_TRIES = 3


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
        """The oldest request nobody is working on, leased to ``owner``."""
        return await self._col.find_one_and_update(
            {"lease_until": {"$lte": now}},
            {
                "$set": {"lease_until": now + timedelta(seconds=LEASE_S), "owner": owner},
                "$inc": {"tries": 1},
            },
            sort=[("lease_until", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def done(self, request_id: str) -> None:
        await self._col.delete_one({"_id": request_id})
