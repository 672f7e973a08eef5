"""Sliding-window rate limits kept in the database, so every instance sees the same counts.

Each attempt inserts a hit and then counts the hits in the window, its own included. Insert
first, count second: two concurrent attempts each see the other, so the limit can be
undershot under a race but never exceeded (no atomic counter needed; FerretDB has none). A
refused attempt removes its hit, so a client that keeps retrying is not locked out for longer
than ``Retry-After`` says. Old hits go by a TTL index where the database has them, and are
deleted in code on every database (FerretDB has none).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.mongo import ensure_indexes, expiry_index, lookup_index

HITS = "rate_limit_hits"


class Limiter(Protocol):
    """What the service layer sees; :class:`RateLimiter` and the fake both are one."""

    async def hit(self, key: str, limit: int, window_s: int, now: datetime) -> str | int: ...
    async def forget(self, hit_id: str) -> None: ...
    async def prune(self, before: datetime) -> None: ...


class RateLimiter:
    def __init__(self, db: AsyncDatabase) -> None:
        self._hits = db[HITS]

    async def prune(self, before: datetime) -> None:
        """Hits older than every window: they count for nothing (keys nobody hits again,
        such as a guessed case number's, would otherwise stay)."""
        await self._hits.delete_many({"at": {"$lt": before}})

    async def ensure_indexes(self, kept: timedelta) -> None:
        """Counting by key; where the database has TTL indexes, hits older than every
        window (``kept``) go by themselves, as ``prune`` deletes them elsewhere."""
        await ensure_indexes(
            self._hits,
            lookup_index([("key", 1), ("at", 1)], "key_1_at_1"),
            expiry_index("at", kept),
        )

    async def hit(self, key: str, limit: int, window_s: int, now: datetime) -> str | int:
        """Count an attempt: the hit's id if allowed, else the seconds until one is allowed."""
        since = now - timedelta(seconds=window_s)
        await self._hits.delete_many({"key": key, "at": {"$lt": since}})
        hit_id = uuid.uuid4().hex
        await self._hits.insert_one({"_id": hit_id, "key": key, "at": now})
        count = await self._hits.count_documents({"key": key, "at": {"$gte": since}})
        if count <= limit:
            return hit_id
        await self._hits.delete_one({"_id": hit_id})
        oldest = self._hits.find({"key": key, "at": {"$gte": since}}).sort("at", 1).limit(1)
        first = await oldest.to_list()
        if not first:
            return 1
        return max(
            1, math.ceil((first[0]["at"] + timedelta(seconds=window_s) - now).total_seconds())
        )

    async def forget(self, hit_id: str) -> None:
        """Withdraw an allowed hit (another limit refused the same attempt)."""
        await self._hits.delete_one({"_id": hit_id})
