"""How many invitation emails each address received today from all accounts together
(collection ``invitation_recipients``), so many accounts acting together cannot mail one
address without end.

One document per address and UTC day, addressed by ``_id`` and counted with an ``$inc``
upsert: one round trip, atomic per document on MongoDB and on our FerretDB build (its patch
4). A hit past the limit is taken back at once, so an address that keeps being invited is not
refused beyond the day. The ``_id`` holds the SHA-256 of the address's email key, never the
address. No TTL index on FerretDB: the maintenance pass deletes the days gone by (``prune``;
on FerretDB it reads the collection, one small document per address invited since the last
pass).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure
from secop_runtime.mongo import ensure_indexes, expiry_index, is_duplicate

INVITATION_RECIPIENTS = "invitation_recipients"


def day_id(email_key: str, at: datetime) -> str:
    """The counter of ``email_key`` on ``at``'s UTC day."""
    digest = hashlib.sha256(email_key.encode()).hexdigest()
    return f"{digest}:{at.astimezone(UTC).date().isoformat()}"


def day_end(at: datetime) -> datetime:
    """When ``at``'s UTC day ends: its counter counts for nothing after."""
    start = datetime.combine(at.astimezone(UTC).date(), datetime.min.time(), UTC)
    return start + timedelta(days=1)


class InvitationRecipients:
    def __init__(self, db: AsyncDatabase) -> None:
        self._col = db[INVITATION_RECIPIENTS]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase) -> None:
        """Where the database has TTL indexes, a day's count goes as the day ends (as
        ``prune`` does)."""
        await ensure_indexes(
            db[INVITATION_RECIPIENTS], expiry_index("until", timedelta(), name="until")
        )

    async def take(self, email_key: str, at: datetime, limit: int) -> bool:
        """Count one email to the address today: True if within ``limit`` (else nothing is
        counted)."""
        key = day_id(email_key, at)
        update = {"$inc": {"n": 1}, "$set": {"until": day_end(at)}}
        try:
            doc = await self._col.find_one_and_update(
                {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except OperationFailure as exc:
            if not is_duplicate(exc):
                raise
            # Two first emails raced and the other inserted: the document is there now.
            doc = await self._col.find_one_and_update(
                {"_id": key}, update, return_document=ReturnDocument.AFTER
            )
        if int((doc or {}).get("n", 1)) <= limit:
            return True
        await self.give_back(email_key, at)
        return False

    async def give_back(self, email_key: str, at: datetime) -> None:
        """Withdraw an email counted by ``take`` (it was not sent after all)."""
        await self._col.update_one({"_id": day_id(email_key, at)}, {"$inc": {"n": -1}})

    async def prune(self, now: datetime) -> None:
        """Days gone by count for nothing."""
        await self._col.delete_many({"until": {"$lte": now}})
