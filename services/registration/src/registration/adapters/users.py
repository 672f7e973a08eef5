"""The ``users`` collection: one :class:`User` per document, stored through the aggregate store.

Unique indexes decide every uniqueness rule: ``username``, ``email_key``, ``document_key`` (a
pending sign-up holds placeholders for the last two). Link hashes are indexed for look-up by
link. Each save is one conditional write of the change and its events (the outbox).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore
from secop_runtime.outbox import OUTBOX

from registration.domain.user import User
from registration.domain.user_state import PENDING, UNIQUE_FIELDS

USERS = "users"
LOOKED_UP_BY = (
    "confirm_hash",
    "reset_hash",
    "revert_hash",
    "document_number",
    "mobile_phone",
    "claim_email_key",
    "pending_until",
)


class UserStore(AggregateStore[User]):
    def __init__(self, db: AsyncDatabase) -> None:
        super().__init__(db[USERS], User, unique=tuple(UNIQUE_FIELDS), indexed=LOOKED_UP_BY)

    async def expire_pending(self, now: datetime, **equals: Any) -> int:
        """Delete unconfirmed sign-ups past their link (maintenance; or the one holding a
        username a new sign-up asks for). Only once their events are published: the
        ``UserRegistered`` of a short-lived link must still go out."""
        published = {"$or": [{OUTBOX: {"$exists": False}}, {OUTBOX: {"$size": 0}}]}
        deleted = 0
        for expired in (
            {"pending_until": {"$lt": now}},
            # Sign-ups from before pending_until existed: their link's expiry says it.
            {"pending_until": {"$exists": False}, "confirm_expires_at": {"$lt": now}},
        ):
            query = {**equals, "status": PENDING, "confirm_kind": {"$ne": "email_change"}}
            result = await self.collection.delete_many({**query, **expired} | published)
            deleted += result.deleted_count
        return deleted
