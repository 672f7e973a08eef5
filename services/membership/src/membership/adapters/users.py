"""Membership's local view of users, kept from registration's events (never by calling it).

Each user's events arrive on different topics (``UserRegistered``, ``UserConfirmed``,
``UserProfileUpdated``), so they can be reordered, redelivered or handled concurrently. The
view therefore stores every fact as its own insert-only document (``_id`` = event id: a
redelivery is a duplicate key and changes nothing) and merges them when read:

- ``confirmed`` is sticky: true once any ``UserConfirmed`` was seen, whatever the order;
- each identity field (name, email, username, time zone) takes its value from the newest fact
  (by ``occurred_at``) that carries it.

A read view fed by events, not an aggregate: nothing is decided on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from secop_contracts.common import PersonRef
from secop_runtime.mongo import ensure_indexes, lookup_index

USER_FACTS = "user_facts"
DUPLICATE_KEY = 11000


class UserDirectory:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[USER_FACTS]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase) -> None:
        await ensure_indexes(
            db[USER_FACTS], lookup_index([("user_id", 1), ("occurred_at", 1)], "by_user")
        )

    @staticmethod
    def fact(
        event_id: UUID,
        user_id: UUID,
        occurred_at: datetime,
        fields: dict[str, Any],
        *,
        confirmed: bool = False,
    ) -> dict[str, Any]:
        """One fact about a user, keyed by the event that told it."""
        return {
            "_id": str(event_id),
            "user_id": str(user_id),
            "occurred_at": occurred_at,
            "fields": fields,
            "confirmed": confirmed,
        }

    async def record(self, *facts: dict[str, Any]) -> int:
        """Store facts (any order: the view merges them by time); returns how many were new.
        A fact already recorded (the same event again) is left as it is."""
        if not facts:
            return 0
        try:
            return len((await self._col.insert_many(list(facts), ordered=False)).inserted_ids)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise
            return int(exc.details.get("nInserted", 0))

    async def get(self, user_id: UUID | str) -> dict[str, Any] | None:
        """The merged view of one user, or None when no fact about them has arrived yet."""
        return (await self.get_many([user_id])).get(str(user_id))

    async def get_many(self, user_ids: Iterable[UUID | str]) -> dict[str, dict[str, Any]]:
        ids = sorted({str(u) for u in user_ids})
        if not ids:
            return {}
        facts = await self._col.find({"user_id": {"$in": ids}}).sort("occurred_at", 1).to_list()
        views: dict[str, dict[str, Any]] = {}
        for fact in facts:  # oldest first: newer facts overwrite what they carry
            view = views.setdefault(
                fact["user_id"], {"user_id": fact["user_id"], "confirmed": False}
            )
            view.update({k: v for k, v in fact["fields"].items() if v is not None})
            view["confirmed"] = view["confirmed"] or bool(fact.get("confirmed"))
            view["as_of"] = fact["occurred_at"]
        return views


def person_ref(view: dict[str, Any] | None, user_id: UUID | str) -> PersonRef:
    """A ``PersonRef`` from the local view ("" where nothing is known yet)."""
    view = view or {}
    return PersonRef(
        user_id=UUID(str(user_id)),
        full_name=view.get("full_name", ""),
        email=view.get("email", ""),
        time_zone=view.get("time_zone", "America/Bogota"),
    )
