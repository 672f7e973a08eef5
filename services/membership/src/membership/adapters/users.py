"""Membership's local view of users, kept from registration's events (never by calling it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

USERS = "users"


class UserDirectory:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[USERS]

    async def upsert(self, user_id: UUID, as_of: datetime, fields: dict[str, Any]) -> bool:
        """Apply a newer fact about a user; an older or repeated one changes nothing.

        The ``as_of`` guard makes redelivery and reordering across topics harmless.
        """
        result = await self._col.update_one(
            {
                "_id": str(user_id),
                "$or": [{"as_of": {"$lt": as_of}}, {"as_of": {"$exists": False}}],
            },
            {"$set": {**fields, "as_of": as_of}},
        )
        if result.matched_count:
            return True
        try:
            await self._col.insert_one({"_id": str(user_id), **fields, "as_of": as_of})
            return True
        except Exception as exc:  # the document exists with a newer as_of
            if getattr(exc, "code", None) == 11000:
                return False
            raise

    async def get(self, user_id: UUID) -> dict[str, Any] | None:
        return await self._col.find_one({"_id": str(user_id)})
