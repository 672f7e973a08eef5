"""Throttling state in the database: it survives restarts and is shared by every instance.

Every change is one atomic update or a unique insert, so racing requests are all counted.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure
from secop_runtime.mongo import ensure_indexes, expiry_index, is_duplicate

from registration.domain import throttling

LOGIN_GUARDS = "login_guards"
IP_HITS = "ip_hits"
EMAIL_SENDS = "email_sends"
USED_TOKENS = "used_tokens"


class LoginBusy(Exception):
    """Another check of the same user from the same client holds the lease."""


def _field(client: str) -> str:
    """A client's name as a field name (an address's dots would read as a path; device ids
    and address keys hold no ``_``, so the mapping stays one to one)."""
    return "clients." + client.replace(".", "_")


class LoginGuards:
    """Consecutive failed password checks, one document per subject (a user id, or a keyed
    hash standing for a username nobody has), so a check reads and writes only it:

    - ``failures`` and ``last_failure_at``: the failures across clients since the last
      success, for the lock;
    - ``clients.<client>``: that client's failures and a lease, so that one check per user and
      client runs at a time (parallel guesses would otherwise all pass the gate before the
      first failure is counted); an entry exists while a lease is held or failures count;
    - ``touched_at``: the last check's start or failure, for the maintenance pass.

    A stranger's lease never holds up the owner, whose client has its own entry. Entries
    outlive their lease only with failures, which stop counting once the account is locked
    or the client must wait, so an entry per botnet address cannot grow the document past
    the hundred failures before the lock (between the owner's successful logins, on a day
    with failures).
    """

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[LOGIN_GUARDS]

    async def create_indexes(self) -> None:
        """Read and written by ``_id`` only (the maintenance pass reads them all, hourly)."""

    async def begin(
        self, subject: str, client: str, now: datetime, lease_s: float
    ) -> throttling.Failures:
        """Take the (subject, client) lease (one left by a crashed process expires after
        ``lease_s``); returns the failures so far, in one command. Raises
        :class:`LoginBusy` while another check from this client holds it."""
        lease = f"{_field(client)}.lease_until"
        try:
            doc = await self._col.find_one_and_update(
                {"_id": subject, "$or": [{lease: None}, {lease: {"$lte": now}}]},
                {"$set": {lease: now + timedelta(seconds=lease_s), "touched_at": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except OperationFailure as exc:  # the document exists and this client's lease is held
            if not is_duplicate(exc):
                raise
            raise LoginBusy from None
        mine = (doc.get("clients") or {}).get(client.replace(".", "_")) or {}
        return throttling.Failures(
            client=int(mine.get("failures", 0)),
            client_last_at=mine.get("last_failure_at"),
            user=int(doc.get("failures", 0)),
        )

    async def failed(
        self, subject: str, client: str, now: datetime, *, restart: bool = False
    ) -> tuple[int, int]:
        """Count a failure for the client (from one again if ``restart``: its last failure
        is forgotten) and for the subject, and end the lease; returns both counts."""
        entry = _field(client)
        counts: dict[str, int] = {"failures": 1}
        restarted: dict[str, int] = {}
        if restart:
            restarted[f"{entry}.failures"] = 1
        else:
            counts[f"{entry}.failures"] = 1
        doc = await self._col.find_one_and_update(
            {"_id": subject},
            {
                "$inc": counts,
                "$set": {
                    "last_failure_at": now,
                    f"{entry}.last_failure_at": now,
                    "touched_at": now,
                    **restarted,
                },
                "$unset": {f"{entry}.lease_until": ""},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        mine = doc["clients"][client.replace(".", "_")]
        return int(mine["failures"]), int(doc["failures"])

    async def noted(self, subject: str, now: datetime) -> None:
        """Note when a stand-in subject last failed (the write an access-history record is
        for a real user, so that both cost the same)."""
        await self._col.update_one({"_id": subject}, {"$set": {"noted_at": now}})

    async def release(self, subject: str, client: str, *, had_failures: bool) -> None:
        """End the lease without counting anything (the gate refused, or the check broke);
        an entry that held nothing but the lease goes with it."""
        entry = _field(client)
        await self._col.update_one(
            {"_id": subject},
            {"$unset": {f"{entry}.lease_until" if had_failures else entry: ""}},
        )

    async def succeeded(self, subject: str, client: str, run_across_clients: bool) -> None:
        """The right password: this client's failures (and lease) end, and the run across
        clients if there was one. One update by ``_id``."""
        change: dict[str, Any] = {"$unset": {_field(client): ""}}
        if run_across_clients:
            change["$unset"]["last_failure_at"] = ""
            change["$set"] = {"failures": 0}
        await self._col.update_one({"_id": subject}, change)

    async def clear(self, subject: str) -> None:
        """A password reset: no failures, no lock, no lease, from any client."""
        await self._col.delete_one({"_id": subject})

    async def forget_stale(self, now: datetime) -> None:
        """A subject untouched for a day keeps no client's failures (they count for a day);
        a run across clients that stopped short of the lock is forgotten after a month (a
        lock is not), and a subject with nothing left to count goes. The same rules for
        users and unknown usernames, so neither tells them apart.

        Documents of the earlier layout, one per subject and client (``subject`` field), are
        never read any more and go at the first pass: a client's wait from before the upgrade
        starts over, while the run across clients and the lock carry over (their document
        kept its shape, without ``touched_at``, which counts as long untouched here)."""
        day_ago = now - timedelta(seconds=throttling.CLIENT_MEMORY_S)
        untouched = {"$or": [{"touched_at": {"$lt": day_ago}}, {"touched_at": None}]}
        await self._col.delete_many({"subject": {"$exists": True}})
        await self._col.update_many(
            {**untouched, "clients": {"$exists": True}}, {"$unset": {"clients": ""}}
        )
        await self._col.delete_many(
            {
                **untouched,
                "failures": {"$lt": throttling.FAILURES_BEFORE_LOCK},
                "last_failure_at": {"$lt": now - timedelta(seconds=throttling.USER_MEMORY_S)},
            }
        )
        await self._col.delete_many({**untouched, "last_failure_at": None, "clients": None})


class IpLimiter:
    """Requests per IP and purpose in fixed windows."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[IP_HITS]

    async def create_indexes(self) -> None:
        """Where the database has TTL indexes, a window's count goes as the window ends."""
        await ensure_indexes(self._col, expiry_index("until", timedelta(), name="until"))

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


@dataclass(frozen=True)
class Sent:
    """When a kind of email went to a user lately, as read (``last`` guards the claim)."""

    times: list[datetime] = field(default_factory=list)
    last: datetime | None = None


class EmailSends:
    """When each kind of email last went to a user (rate limits on self-service mail).

    One document per user and kind (``<kind>:<user_id>``), read and written by ``_id``: the
    send times within ``keep_s``, and ``last``. A claim is an update conditional on the
    ``last`` its caller read (an insert for the first), so of two racing requests one sends
    and the other is told no, on any database.
    """

    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[EMAIL_SENDS]

    async def create_indexes(self) -> None:
        """Looked up by ``_id`` only."""

    async def recent(self, user_id: str, kind: str) -> Sent:
        doc = await self._col.find_one({"_id": f"{kind}:{user_id}"})
        if doc is None or "last" not in doc:  # none yet, or the earlier layout (one per send)
            return Sent()
        return Sent(list(doc.get("sent", [])), doc["last"])

    async def claim(self, user_id: str, kind: str, now: datetime, seen: Sent, keep_s: int) -> bool:
        """Record one send (False: another request claimed one since ``seen`` was read)."""
        kept = [t for t in seen.times if (now - t).total_seconds() < keep_s]
        try:
            result = await self._col.update_one(
                {"_id": f"{kind}:{user_id}", "last": seen.last},
                {"$set": {"sent": [*kept, now], "last": now}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return result.matched_count == 1 or result.upserted_id is not None

    async def prune(self, before: datetime) -> int:
        """Users whose last email of a kind went before ``before`` (and the earlier layout's
        records, one per send)."""
        result = await self._col.delete_many(
            {"$or": [{"last": {"$lt": before}}, {"at": {"$lt": before}}]}
        )
        return result.deleted_count


class UsedTokens:
    """Token hashes already spent: a unique insert makes a link single-use under races."""

    def __init__(self, db: AsyncDatabase, kept: timedelta | None = None) -> None:
        self._col = db[USED_TOKENS]
        self._kept = kept

    async def create_indexes(self) -> None:
        """Looked up by ``_id`` only; where the database has TTL indexes, a spent link goes
        once ``kept`` (what ``prune`` is given) has passed."""
        if self._kept is not None:
            await ensure_indexes(self._col, expiry_index("at", self._kept))

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
