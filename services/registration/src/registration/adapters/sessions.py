"""Sessions and the access history the user can read.

A session is its login's record in the access history: a login writes one document, which
the history lists like any other record and ``authenticate`` reads by ``_id``. Sessions opened
before that lived in their own collection (``sessions``); they are honoured, ended and pruned
there until the last of them has expired.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_contracts import Event
from secop_runtime.mongo import ensure_indexes, lookup_index
from secop_runtime.outbox import NOTHING_PENDING, new_document, with_events

SESSIONS = "sessions"
HISTORY = "access_history"


def _record(
    user_id: str, kind: str, at: datetime, ip: str | None, user_agent: str | None
) -> dict[str, Any]:
    return {
        "_id": uuid.uuid4().hex,
        "user_id": user_id,
        "kind": kind,
        "at": at,
        "ip": ip,
        "user_agent": (user_agent or "")[:300] or None,
    }


class SessionStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[HISTORY]
        self._legacy = db[SESSIONS]

    async def create_indexes(self) -> None:
        """The history's index serves both (``AccessHistory``); the old collection keeps its."""
        await ensure_indexes(self._legacy, IndexModel("user_id", name="user_id"))

    async def open(
        self,
        sid: str,
        user_id: str,
        issued_at: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
        *events: Event,
    ) -> None:
        """A new session, recorded as a login in the access history, with the events the login
        causes in its outbox: one write (the relay then removes them)."""
        session = {
            **_record(user_id, "login", issued_at, ip, user_agent),
            "_id": sid,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "ended_at": None,
        }
        await self._col.insert_one(new_document(session, *events))

    async def get(self, sid: str) -> dict[str, Any] | None:
        doc = await self._col.find_one({"_id": sid})
        if doc is None:
            return await self._legacy.find_one({"_id": sid})
        return doc if doc.get("kind") == "login" and "expires_at" in doc else None

    async def prune(self, expired_before: datetime) -> int:
        """Sessions of the old collection whose token expired before ``expired_before``, once
        their events are published (a relay held up for a week must still find them). Those
        in the history go with it (``AccessHistory.prune``)."""
        result = await self._legacy.delete_many(
            {"expires_at": {"$lt": expired_before}, **NOTHING_PENDING}
        )
        return result.deleted_count

    async def end(self, sid: str, now: datetime, *events: Event) -> bool:
        for col in (self._col, self._legacy):
            result = await col.update_one(
                {"_id": sid, "expires_at": {"$exists": True}, "ended_at": None},
                with_events({"$set": {"ended_at": now}}, *events),
            )
            if result.modified_count:
                return True
        return False


class AccessHistory:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[HISTORY]

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self._col,
            lookup_index([("user_id", 1), ("at", DESCENDING), ("_id", DESCENDING)], "user_at"),
        )

    async def record(
        self, user_id: str, kind: str, at: datetime, ip: str | None, user_agent: str | None
    ) -> None:
        await self._col.insert_one(_record(user_id, kind, at, ip, user_agent))

    async def prune(self, before: datetime) -> int:
        """Records older than the retention, sessions among them (long expired by then),
        once their events are published."""
        result = await self._col.delete_many({"at": {"$lt": before}, **NOTHING_PENDING})
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
