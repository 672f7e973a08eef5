"""The account's library documents in MongoDB (collection ``library``), one aggregate each,
saved through ``AggregateStore`` with their events in the document's outbox.

``slot`` has a unique *sparse* index: a live document holds one of its account's slots (the
bound on live documents, ``domain.library``) and a removed one holds none (a plain unique
index would take two missing values for one on MongoDB).
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore
from secop_runtime.mongo import ensure_indexes

from membership.domain.library import LibraryDocument

LIBRARY = "library"


def library_store(db: AsyncDatabase) -> AggregateStore[LibraryDocument]:
    return AggregateStore(db[LIBRARY], LibraryDocument, indexed=("account_id",))


async def create_library_indexes(store: AggregateStore[LibraryDocument]) -> None:
    await store.create_indexes()
    await ensure_indexes(
        store.collection,
        IndexModel([("slot", ASCENDING)], unique=True, sparse=True, name="uniq_slot"),
    )
