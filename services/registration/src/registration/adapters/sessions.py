"""Sessions (one per login) and the access history the user can read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_contracts import Event
from secop_runtime.mongo import ensure_indexes
from secop_runtime.outbox import PENDING, new_document, with_events

SESSIONS = "sessions"
HISTORY = "access_history"


class SessionStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[SESSIONS]

    async def create_indexes(self) -> None:
        await ensure_indexes(self._col, IndexModel("user_id", name="user_id"))

    async def open(
        self, sid: str, user_id: str, issued_at: datetime, expires_at: datetime, *events: Event
    ) -> None:
        """A new session, with the events the login causes in its outbox: one write (the
        relay then removes them from this document, as it does a logout's)."""
        session = {
            "_id": sid,
            "user_id": user_id,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "ended_at": None,
        }
        await self._col.insert_one(new_document(session, *events))

    async def get(self, sid: str) -> dict[str, Any] | None:
        return await self._col.find_one({"_id": sid})

    async def prune(self, expired_before: datetime) -> int:
        """Sessions whose token expired before ``expired_before`` (the access history keeps
        the record of each login and logout), once their events are published (a relay held
        up for a week must still find them)."""
        result = await self._col.delete_many(
            {"expires_at": {"$lt": expired_before}, PENDING: {"$ne": True}}
        )
        return result.deleted_count

    async def end(self, sid: str, now: datetime, *events: Event) -> bool:
        result = await self._col.update_one(
            {"_id": sid, "ended_at": None}, with_events({"$set": {"ended_at": now}}, *events)
        )
        return result.modified_count > 0

    async def end_all(self, user_id: str, now: datetime) -> None:
        await self._col.update_many(
            {"user_id": user_id, "ended_at": None}, {"$set": {"ended_at": now}}
        )


class AccessHistory:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[HISTORY]

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self._col,
            IndexModel([("user_id", 1), ("at", DESCENDING), ("_id", DESCENDING)], name="user_at"),
        )

    async def record(
        self, user_id: str, kind: str, at: datetime, ip: str | None, user_agent: str | None
    ) -> None:
        await self._col.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "user_id": user_id,
                "kind": kind,
                "at": at,
                "ip": ip,
                "user_agent": (user_agent or "")[:300] or None,
            }
        )

    async def prune(self, before: datetime) -> int:
        result = await self._col.delete_many({"at": {"$lt": before}})
        return result.deleted_count

    async def page(self, user_id: str, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
        query = {"user_id": user_id}
        total = await self._col.count_documents(query)
        items = (
            await self._col.find(query)
            .sort([("at", DESCENDING), ("_id", DESCENDING)])
            .skip((page - 1) * size)
            .limit(size)
            .to_list()
        )
        return items, total
