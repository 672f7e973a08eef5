"""Throttling state in the database: it survives restarts and is shared by every instance.

Every change is one atomic update or a unique insert, so racing requests are all counted.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from secop_runtime.mongo import ensure_indexes

LOGIN_GUARDS = "login_guards"
IP_HITS = "ip_hits"
EMAIL_SENDS = "email_sends"
USED_TOKENS = "used_tokens"


class LoginBusy(Exception):
    """Another login of the same user holds the lease."""


class LoginGuards:
    """Consecutive failed logins per user, and a lease so that one password check per user
    runs at a time: parallel guesses would otherwise all pass the gate before the first
    failure is counted. The document exists only while a lease is held or failures count."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[LOGIN_GUARDS]

    async def begin(
        self, user_id: str, now: datetime, lease_s: float
    ) -> tuple[int, datetime | None]:
        """Take the user's lease (one left by a crashed process expires after ``lease_s``);
        returns the failures so far. Raises :class:`LoginBusy` while another holds it."""
        try:
            doc = await self._col.find_one_and_update(
                {"_id": user_id, "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]},
                {"$set": {"lease_until": now + timedelta(seconds=lease_s)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # the document exists and its lease is held
            raise LoginBusy from None
        return int(doc.get("failures", 0)), doc.get("last_failure_at")

    async def failed(self, user_id: str, now: datetime) -> int:
        """Count a failure and end the lease; returns the consecutive failures."""
        doc = await self._col.find_one_and_update(
            {"_id": user_id},
            {
                "$inc": {"failures": 1},
                "$set": {"last_failure_at": now},
                "$unset": {"lease_until": ""},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc.get("failures", 1))

    async def release(self, user_id: str) -> None:
        """End the lease without counting anything (the gate refused, or the check broke)."""
        await self._col.update_one({"_id": user_id}, {"$unset": {"lease_until": ""}})

    async def clear(self, user_id: str) -> None:
        """A success or a password reset: no failures, no lease."""
        await self._col.delete_one({"_id": user_id})


class IpLimiter:
    """Requests per IP and purpose in fixed windows."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[IP_HITS]

    async def create_indexes(self) -> None:
        await ensure_indexes(self._col, IndexModel([("until", ASCENDING)], name="until"))

    async def hit(self, scope: str, ip: str, window: int, window_s: int) -> int:
        """Count one request; returns the window's count so far."""
        key = f"{scope}:{ip}:{window}"
        until = datetime.fromtimestamp(window + window_s, UTC)
        doc: dict[str, Any] | None = None
        for _ in range(2):  # two first hits racing: one upsert inserts, the other retries
            with contextlib.suppress(DuplicateKeyError):
                # One round trip: the count comes back with the increment.
                doc = await self._col.find_one_and_update(
                    {"_id": key},
                    {"$inc": {"n": 1}, "$set": {"until": until}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                break
        if random.random() < 0.02:  # no TTL indexes on the development database
            await self._col.delete_many({"until": {"$lt": datetime.now(UTC)}})
        if doc is None:  # both tries lost a race: read what the winners counted
            doc = await self._col.find_one({"_id": key})
        return int((doc or {}).get("n", 1))


class EmailSends:
    """When each kind of email last went to a user (rate limits on self-service mail).

    One document per user, kind and interval slot: the unique ``_id`` makes two racing
    requests in the same slot send one email, on any database.
    """

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[EMAIL_SENDS]

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self._col, IndexModel([("user_id", ASCENDING), ("kind", ASCENDING)], name="user")
        )

    async def recent(self, user_id: str, kind: str) -> list[datetime]:
        docs = await self._col.find({"user_id": user_id, "kind": kind}).to_list()
        return [d["at"] for d in docs]

    async def claim(self, user_id: str, kind: str, now: datetime, interval_s: int) -> bool:
        slot = int(now.timestamp()) // interval_s if interval_s > 0 else uuid.uuid4().hex
        try:
            await self._col.insert_one(
                {"_id": f"{kind}:{user_id}:{slot}", "user_id": user_id, "kind": kind, "at": now}
            )
        except DuplicateKeyError:
            return False
        await self._col.delete_many(
            {"user_id": user_id, "kind": kind, "at": {"$lt": now - timedelta(hours=1)}}
        )
        return True


class UsedTokens:
    """Token hashes already spent: a unique insert makes a link single-use under races."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[USED_TOKENS]

    async def spend(self, token_hash: str, user_id: str, now: datetime) -> bool:
        try:
            await self._col.insert_one({"_id": token_hash, "user_id": user_id, "at": now})
        except DuplicateKeyError:
            return False
        return True

    async def was_spent(self, token_hash: str) -> dict[str, Any] | None:
        return await self._col.find_one({"_id": token_hash})
