"""In-memory twins of the adapters, for the service-layer unit tier (no database).

They keep the real adapters' contracts: :class:`FakeCases` is the runtime's ``MemoryStore``
(versions, unique keys, the events each write stored) plus the case store's queries, answered
with the domain's own predicates; :class:`FakeRateLimiter` counts the same sliding windows.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from secop_runtime.aggregates import MemoryStore

from support.adapters.cases import CASE_RETRIES
from support.domain.cases import OPEN, Case
from support.domain.queue import QueueFilter, urgency


class FakeCases(MemoryStore[Case]):
    def __init__(self) -> None:
        super().__init__(Case, unique=("source_key",), retries=CASE_RETRIES)

    async def all(self) -> list[Case]:
        return await self.find(limit=len(self.documents) + 1)

    async def highest_seq(self, year: int) -> int:
        return max((c.seq for c in await self.all() if c.year == year), default=0)

    async def find_by_source_event(self, event_id: str) -> Case | None:
        return next((c for c in await self.all() if event_id in c.source_event_ids), None)

    async def find_open_for_account(
        self, subject: str, account_id: str, nit: str, emails: set[str]
    ) -> Case | None:
        candidates = [c for c in await self.all() if c.subject == subject and c.status == OPEN]
        candidates.sort(key=lambda c: c.opened_at)
        for key in ("account_id", "nit"):
            wanted = account_id if key == "account_id" else nit
            for case in candidates:
                if getattr(case, key) == wanted and case.requester.email.lower() in emails:
                    return case
        return None

    async def queue(self, query: QueueFilter, offset: int, limit: int) -> tuple[list[Case], int]:
        found = sorted((c for c in await self.all() if query.matches(c)), key=urgency)
        return found[offset : offset + limit], len(found)


class FakeRateLimiter:
    def __init__(self) -> None:
        self.hits: dict[str, tuple[str, datetime]] = {}

    async def prune(self, before: datetime) -> None:
        self.hits = {i: (k, at) for i, (k, at) in self.hits.items() if at >= before}

    async def hit(self, key: str, limit: int, window_s: int, now: datetime) -> str | int:
        since = now - timedelta(seconds=window_s)
        times = sorted(at for k, at in self.hits.values() if k == key and at >= since)
        if len(times) < limit:
            hit_id = uuid.uuid4().hex
            self.hits[hit_id] = (key, now)
            return hit_id
        return max(1, math.ceil((times[0] + timedelta(seconds=window_s) - now).total_seconds()))

    async def forget(self, hit_id: str) -> None:
        self.hits.pop(hit_id, None)
