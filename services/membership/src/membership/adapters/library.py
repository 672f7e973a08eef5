"""The account's library documents in MongoDB (collection ``library``), one aggregate each,
saved through ``AggregateStore`` with their events in the document's outbox.

``slot`` has a unique *sparse* index: a live document holds one of its account's slots (the
bound on live documents, ``domain.library``) and a removed one holds none (a plain unique
index would take two missing values for one on MongoDB). ``removed_at`` is sparse too: only
removed documents have one, and only they are ever looked up by it (their retention).
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore
from secop_runtime.mongo import ensure_indexes
from secop_runtime.outbox import NOTHING_PENDING

from membership.domain.library import LibraryDocument

LIBRARY = "library"


class LibraryCollection(AggregateStore[LibraryDocument]):
    """The store, with what reads or deletes across documents: a page of an account's, and
    the end of removed ones."""

    async def page(
        self, account_id: str, page: int, size: int
    ) -> tuple[list[LibraryDocument], int]:
        """The account's documents, removed ones too, the most recently changed first."""
        query = {"account_id": account_id}
        total = await self.collection.count_documents(query)
        order = [("updated_at", DESCENDING), ("_id", DESCENDING)]
        cursor = self.collection.find(query).sort(order).skip((page - 1) * size).limit(size)
        return [self.load(d) for d in await cursor.to_list()], total

    async def prune_removed(self, before: datetime) -> int:
        """Delete the documents removed before ``before`` (their contents went at removal),
        never one with events unsent."""
        query = {"removed": True, "removed_at": {"$lt": before}, **NOTHING_PENDING}
        return (await self.collection.delete_many(query)).deleted_count


def library_store(db: AsyncDatabase) -> LibraryCollection:
    return LibraryCollection(db[LIBRARY], LibraryDocument, indexed=("account_id",))


async def create_library_indexes(store: LibraryCollection) -> None:
    await store.create_indexes()
    await ensure_indexes(
        store.collection,
        IndexModel([("slot", ASCENDING)], unique=True, sparse=True, name="uniq_slot"),
        IndexModel([("removed_at", ASCENDING)], sparse=True, name="removed_at"),
    )
