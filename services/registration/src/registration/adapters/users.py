"""The ``users`` collection: one document per user, with its pending events (outbox).

Unique indexes decide every uniqueness rule (the development database's updates are not atomic,
its unique indexes are): ``username``, ``email_key``, ``document_key``. Token hashes are stored
on the user (only the newest per purpose), indexed for look-up by link.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure
from secop_contracts import Event
from secop_runtime.mongo import ensure_indexes
from secop_runtime.outbox import CLAIMS, OUTBOX, new_document, with_events

USERS = "users"
LAST_EVENTS = "_last_events"
MAX_REWRITES = 3
RELAY_WAIT_S = 5.0

log = logging.getLogger(__name__)

#: Which stored key belongs to which request field, for a 409 that names it.
UNIQUE_FIELDS = {"username": "username", "email_key": "email", "document_key": "document_number"}
#: The status of a sign-up not confirmed yet (the service layer names it too).
PENDING = "pending_confirmation"
ACTIVE = "active"
#: What a sign-up's notice to the holder of its email or document needs.
HOLDER_FIELDS = {
    k: 1 for k in ("username", "full_name", "email", "time_zone", "status", *UNIQUE_FIELDS)
}


def is_duplicate(exc: OperationFailure) -> bool:
    """A unique index refused the write. FerretDB 1.24 reports an update's collision as a
    generic error (code 1) naming the SQLite constraint, not as E11000."""
    return isinstance(exc, DuplicateKeyError) or "UNIQUE constraint failed" in str(exc)


class Taken(Exception):
    """A unique key is already someone else's."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already registered")
        self.field = field


class UserStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[USERS]

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self._col,
            *(
                IndexModel([(key, ASCENDING)], unique=True, name=f"uniq_{key}")
                for key in UNIQUE_FIELDS
            ),
            *(
                IndexModel([(key, ASCENDING)], name=key)
                for key in (
                    "confirm_hash",
                    "reset_hash",
                    "revert_hash",
                    "document_number",
                    "mobile_phone",
                    "claim_email_key",
                    "pending_until",
                )
            ),
        )

    async def get(self, user_id: str) -> dict[str, Any] | None:
        return await self._col.find_one({"_id": user_id})

    async def find_one(self, **query: Any) -> dict[str, Any] | None:
        return await self._col.find_one(query)

    async def find_many(self, limit: int = 10, **query: Any) -> list[dict[str, Any]]:
        return await self._col.find(query).limit(limit).to_list()

    async def insert(self, doc: dict[str, Any], *events: Event) -> None:
        """Insert a new user; raises :class:`Taken` naming the field that collided."""
        try:
            await self._col.insert_one(new_document(doc, *events))
        except OperationFailure as exc:
            if not is_duplicate(exc):
                raise
            raise Taken(await self._collision(doc, None)) from None

    async def holders(self, email_key: str, document_key: str | None) -> list[dict[str, Any]]:
        """Confirmed users holding this email or document (pending sign-ups hold neither).
        One equality look-up per unique key: every MongoDB-wire server narrows those."""
        found: dict[str, dict[str, Any]] = {}
        for key, value in (("email_key", email_key), ("document_key", document_key)):
            if value is not None and (holder := await self.holder_of(key, value)) is not None:
                found.setdefault(holder["_id"], holder)
        return list(found.values())

    async def holder_of(self, key: str, value: str) -> dict[str, Any] | None:
        """The confirmed user whose unique ``key`` is ``value``, if any."""
        user = await self._col.find_one({key: value}, HOLDER_FIELDS)
        return user if user is not None and user.get("status") != PENDING else None

    async def insert_pending(self, doc: dict[str, Any], now: datetime, *events: Event) -> None:
        """Insert a sign-up. Its username may belong to a sign-up that expired unconfirmed:
        that one is removed (releasing the name) and the insert tried again; any other
        collision raises :class:`Taken`. Maintenance removes the other expired ones."""
        for _ in range(2):
            try:
                await self.insert(doc, *events)
                break
            except Taken as taken:
                if taken.field != "username" or not await self._expire(
                    {"username": doc["username"]}, now
                ):
                    raise
        else:
            raise Taken("username")

    async def expire_pending(self, now: datetime) -> int:
        """Every unconfirmed sign-up past its link (maintenance)."""
        return await self._expire({}, now)

    async def _expire(self, query: dict[str, Any], now: datetime) -> int:
        """Delete unconfirmed sign-ups past their link (whose events are all published)."""
        published = {"$or": [{OUTBOX: {"$exists": False}}, {OUTBOX: {"$size": 0}}]}
        deleted = 0
        for expired in (
            {"pending_until": {"$lt": now}},
            # Sign-ups from before pending_until existed: their link's expiry says it.
            {"pending_until": {"$exists": False}, "confirm_expires_at": {"$lt": now}},
        ):
            result = await self._col.delete_many(
                {**query, "status": PENDING, "confirm_kind": {"$ne": "email_change"}, **expired}
                | published
            )
            deleted += result.deleted_count
        return deleted

    async def update(
        self,
        user_id: str,
        update: dict[str, Any],
        *events: Event,
        only_if: dict[str, Any] | None = None,
    ) -> bool:
        """Update one user with the events the change causes, in one write.

        ``only_if`` adds conditions (e.g. "the link is still the newest"); returns whether a
        document matched. Raises :class:`Taken` when a unique key collides.
        """
        query = {"_id": user_id, **(only_if or {})}
        marker = [str(e.event_id) for e in events]
        full = with_events(update, *events)
        if marker:
            full["$set"] = {**full.get("$set", {}), LAST_EVENTS: marker}
        for _ in range(MAX_REWRITES):
            try:
                result = await self._col.update_one(query, full)
            except OperationFailure as exc:  # DuplicateKeyError is one
                if not is_duplicate(exc):
                    raise
                raise Taken(await self._collision(update.get("$set", {}), user_id)) from None
            if not marker or result.matched_count == 0 or await self._landed(user_id, marker):
                return result.matched_count > 0
            log.warning("a concurrent write replaced this update; writing it again")
        return True

    async def _landed(self, user_id: str, marker: list[str]) -> bool:
        """Did our write survive? FerretDB 1.24 updates are read-then-replace, so the outbox
        relay's removal of published events from this document, if it read the document
        before our write, replaces it afterwards: our state and events are lost.

        The relay does that only while it holds a claim on the document, so we wait until no
        claim is held, then look: our events are still waiting, or our marker is there (they
        were published since). A later writer's marker makes us write again: harmless, the
        events keep their ids and consumers skip ids they have applied.
        """
        await self._relay_quiet(user_id)
        doc = await self._col.find_one({"_id": user_id}, {OUTBOX: 1, LAST_EVENTS: 1}) or {}
        waiting = {item.get("event_id") for item in doc.get(OUTBOX) or []}
        return set(marker) <= waiting or doc.get(LAST_EVENTS) == marker

    async def _relay_quiet(self, user_id: str) -> None:
        claims = self._col.database[CLAIMS]
        prefix = {"key": {"$regex": f"^{re.escape(USERS)}:{re.escape(user_id)}:"}}
        for _ in range(int(RELAY_WAIT_S / 0.02)):  # a crashed relay's claim expires: cap it
            if await claims.find_one(prefix, {"_id": 1}) is None:
                return
            await asyncio.sleep(0.02)

    async def taken_field(self, candidate: dict[str, Any], user_id: str | None) -> str | None:
        """Which unique key of ``candidate`` another user already holds (a polite pre-check)."""
        for key, field in UNIQUE_FIELDS.items():
            if key in candidate:
                other = await self._col.find_one({key: candidate[key]}, {"_id": 1})
                if other is not None and other["_id"] != user_id:
                    return field
        return None

    async def _collision(self, candidate: dict[str, Any], user_id: str | None) -> str:
        # The error does not name the index on the development database: ask which one.
        return await self.taken_field(candidate, user_id) or "username"
