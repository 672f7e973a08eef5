"""One writer at a time per aggregate, decided by unique inserts.

FerretDB 1.24 applies a conditional update as query-then-replace, so two concurrent writers can
both pass the same condition (two administrators cancelling each other, two decisions on one
account). A turn serialises them: the writer inserts ``{key}:{n}`` into ``turn_claims`` (a unique
``_id``: exactly one insert wins), does its read-check-write, then moves the key's counter to
``n + 1``. A turn abandoned by a crash is taken over once it is older than ``STALE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

COUNTERS, CLAIMS = "turn_counters", "turn_claims"
STALE = timedelta(seconds=30)
#: Claims older than this are pruned (see ``Turns.prune``).
FINISHED = timedelta(days=1)


class Busy(Exception):
    """Another writer kept the aggregate for longer than we were willing to wait."""


class Turns:
    def __init__(self, db: AsyncDatabase, wait_s: float = 5.0) -> None:
        self._db = db
        self._wait_s = wait_s

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        n = await self._take(key)
        try:
            yield
        finally:
            await self._db[COUNTERS].update_one({"_id": key}, {"$max": {"n": n + 1}}, upsert=True)

    async def _take(self, key: str) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        delay = 0.01
        while True:
            counter = await self._db[COUNTERS].find_one({"_id": key})
            n = counter["n"] if counter else 0
            now = datetime.now(UTC)
            try:
                await self._db[CLAIMS].insert_one({"_id": f"{key}:{n}", "at": now})
                return n
            except DuplicateKeyError:
                claim = await self._db[CLAIMS].find_one({"_id": f"{key}:{n}"})
                if claim and _aware(claim["at"]) < now - STALE:  # its holder died
                    await self._db[COUNTERS].update_one(
                        {"_id": key}, {"$max": {"n": n + 1}}, upsert=True
                    )
                    continue
            if loop.time() > deadline:
                raise Busy(key)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def prune(self, older_than: timedelta = FINISHED) -> int:
        """Delete turn claims taken before ``older_than``: each key's counter has long moved
        past them (a turn lasts milliseconds; a dead holder's is taken over after ``STALE``),
        and nothing reads a claim below its counter."""
        cutoff = datetime.now(UTC) - max(older_than, STALE * 2)
        return (await self._db[CLAIMS].delete_many({"at": {"$lt": cutoff}})).deleted_count


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
