"""Reads of an account's documents from outside it (collection ``document_reads``): who, as
what, when. Its administrators list them; nobody else does."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.mongo import ensure_indexes, expiry_index, lookup_index

DOCUMENT_READS = "document_reads"


class DocumentReads:
    def __init__(self, db: AsyncDatabase) -> None:
        self.col = db[DOCUMENT_READS]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase, kept: timedelta) -> None:
        """The administrators' listing, and where the database has TTL indexes, the
        retention ``prune`` keeps (``DOCUMENT_READS_RETENTION_DAYS``)."""
        await ensure_indexes(
            db[DOCUMENT_READS],
            lookup_index([("account_id", 1), ("read_at", -1)], "by_account"),
            expiry_index("read_at", kept),
        )

    async def record(
        self, account_id: str, doc_type: str, reader_id: str, reader_as: str, at: datetime
    ) -> None:
        await self.col.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "account_id": account_id,
                "doc_type": doc_type,
                "reader_id": reader_id,
                "reader_as": reader_as,
                "read_at": at,
            }
        )

    async def prune(self, before: datetime) -> None:
        await self.col.delete_many({"read_at": {"$lt": before}})

    async def page(self, account_id: str, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
        query = {"account_id": account_id}
        total = await self.col.count_documents(query)
        cursor = self.col.find(query).sort("read_at", -1).skip((page - 1) * size).limit(size)
        return await cursor.to_list(), total
