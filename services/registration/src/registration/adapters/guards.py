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
from pymongo.errors import DuplicateKeyError, OperationFailure
from secop_runtime.mongo import ensure_indexes, is_duplicate

from registration.domain import throttling

LOGIN_GUARDS = "login_guards"
IP_HITS = "ip_hits"
EMAIL_SENDS = "email_sends"
USED_TOKENS = "used_tokens"


class LoginBusy(Exception):
    """Another check of the same user from the same client holds the lease."""


class LoginGuards:
    """Consecutive failed password checks, two documents per subject (a user id, or a keyed
    hash standing for a username nobody has):

    - ``<subject>|<client>``: the client's failures and a lease, so that one check per user and
      client runs at a time (parallel guesses would otherwise all pass the gate before the
      first failure is counted); it exists while a lease is held or failures count;
    - ``<subject>``: the failures across clients since the last success, for the lock.

    A stranger's lease never holds up the owner, whose client has its own.
    """

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[LOGIN_GUARDS]

    async def create_indexes(self) -> None:
        await ensure_indexes(self._col, IndexModel([("subject", ASCENDING)], name="subject"))

    @staticmethod
    def _pair(subject: str, client: str) -> str:
        return f"{subject}|{client}"

    async def begin(
        self, subject: str, client: str, now: datetime, lease_s: float
    ) -> throttling.Failures:
        """Take the (subject, client) lease (one left by a crashed process expires after
        ``lease_s``); returns the failures so far. Raises :class:`LoginBusy` while another
        check from this client holds it."""
        try:
            doc = await self._col.find_one_and_update(
                {
                    "_id": self._pair(subject, client),
                    "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
                },
                {"$set": {"lease_until": now + timedelta(seconds=lease_s), "subject": subject}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except OperationFailure as exc:  # the document exists and its lease is held
            if not is_duplicate(exc):
                raise
            raise LoginBusy from None
        user = await self._col.find_one({"_id": subject}, {"failures": 1})
        return throttling.Failures(
            client=int(doc.get("failures", 0)),
            client_last_at=doc.get("last_failure_at"),
            user=int((user or {}).get("failures", 0)),
        )

    async def failed(
        self, subject: str, client: str, now: datetime, *, restart: bool = False
    ) -> tuple[int, int]:
        """Count a failure for the client (from one again if ``restart``: its last failure
        is forgotten) and for the subject, and end the lease; returns both counts."""
        counted: dict[str, Any] = {"failures": 1} if restart else {}
        pair = await self._col.find_one_and_update(
            {"_id": self._pair(subject, client)},
            {
                **({"$inc": {"failures": 1}} if not restart else {}),
                "$set": {"last_failure_at": now, "subject": subject, **counted},
                "$unset": {"lease_until": ""},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        user = await self._col.find_one_and_update(
            {"_id": subject},
            {"$inc": {"failures": 1}, "$set": {"last_failure_at": now}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(pair.get("failures", 1)), int(user.get("failures", 1))

    async def noted(self, subject: str, now: datetime) -> None:
        """Note when a stand-in subject last failed (the write an access-history record is
        for a real user, so that both cost the same)."""
        await self._col.update_one({"_id": subject}, {"$set": {"noted_at": now}})

    async def release(self, subject: str, client: str) -> None:
        """End the lease without counting anything (the gate refused, or the check broke)."""
        await self._col.update_one(
            {"_id": self._pair(subject, client)}, {"$unset": {"lease_until": ""}}
        )

    async def succeeded(self, subject: str, client: str, run_across_clients: bool) -> None:
        """The right password: this client's failures (and lease) end, and the run across
        clients if there was one. Deletes by ``_id`` alone: FerretDB narrows no other filter
        (an ``$in`` read the whole collection on every login)."""
        await self._col.delete_one({"_id": self._pair(subject, client)})
        if run_across_clients:
            await self._col.delete_one({"_id": subject})

    async def clear(self, subject: str) -> None:
        """A password reset: no failures, no lock, no lease, from any client."""
        await self._col.delete_many({"$or": [{"_id": subject}, {"subject": subject}]})

    async def forget_stale(self, now: datetime) -> None:
        """Client documents whose last failure is a day old count nothing any more; a run
        across clients that stopped short of the lock is forgotten after a month (a lock is
        not). The same rule for users and unknown usernames, so neither tells them apart."""
        cutoff = now - timedelta(seconds=throttling.CLIENT_MEMORY_S)
        await self._col.delete_many(
            {
                "subject": {"$exists": True},
                "last_failure_at": {"$lt": cutoff},
                "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
            }
        )
        await self._col.delete_many(
            {
                "subject": {"$exists": False},
                "failures": {"$lt": throttling.FAILURES_BEFORE_LOCK},
                "last_failure_at": {"$lt": now - timedelta(seconds=throttling.USER_MEMORY_S)},
            }
        )


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

    async def claim(
        self, user_id: str, kind: str, now: datetime, interval_s: int, keep_s: int = 3600
    ) -> bool:
        """Record one send (False: another took this slot); older records than ``keep_s``
        go."""
        slot = int(now.timestamp()) // interval_s if interval_s > 0 else uuid.uuid4().hex
        try:
            await self._col.insert_one(
                {"_id": f"{kind}:{user_id}:{slot}", "user_id": user_id, "kind": kind, "at": now}
            )
        except DuplicateKeyError:
            return False
        await self._col.delete_many(
            {"user_id": user_id, "kind": kind, "at": {"$lt": now - timedelta(seconds=keep_s)}}
        )
        return True


class UsedTokens:
    """Token hashes already spent: a unique insert makes a link single-use under races."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[USED_TOKENS]

    async def create_indexes(self) -> None:
        """Looked up by ``_id`` only."""

    async def spend(self, token_hash: str, user_id: str, now: datetime) -> bool:
        try:
            await self._col.insert_one({"_id": token_hash, "user_id": user_id, "at": now})
        except DuplicateKeyError:
            return False
        return True

    async def was_spent(self, token_hash: str) -> dict[str, Any] | None:
        return await self._col.find_one({"_id": token_hash})

    async def prune(self, before: datetime) -> int:
        """Spent links older than any link lives: expired anyway, whatever the record says."""
        result = await self._col.delete_many({"at": {"$lt": before}})
        return result.deleted_count
