"""Accounts in MongoDB, and the NIT claims that keep one live account per NIT.

A claim is a document whose ``_id`` is the NIT: the unique ``_id`` decides between two racing
registrations even on FerretDB (whose conditional updates are not atomic). A rejected account
releases its claim so the NIT can be registered again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from secop_runtime.mongo import ensure_indexes

from membership.adapters.settle import update_settled

ACCOUNTS, NIT_CLAIMS = "accounts", "nit_claims"
#: A claim with no account after this long was left by a crash between the two inserts.
ORPHAN_CLAIM_AFTER = timedelta(seconds=60)


class NitTaken(Exception):
    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.account_id = account_id


class AccountStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db
        self.col = db[ACCOUNTS]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase) -> None:
        await ensure_indexes(
            db[ACCOUNTS],
            IndexModel("nit", name="nit"),
            IndexModel("search_key", name="search_key"),
            IndexModel([("kind", 1), ("status", 1)], name="kind_status"),
        )

    async def claim_nit(self, nit: str, account_id: str) -> None:
        """Take the NIT for ``account_id``, or raise ``NitTaken`` naming the live holder."""
        claims = self._db[NIT_CLAIMS]
        for _ in range(2):
            try:
                await claims.insert_one(
                    {"_id": nit, "account_id": account_id, "at": datetime.now(UTC)}
                )
                return
            except DuplicateKeyError:
                holder = await claims.find_one({"_id": nit})
                if holder is None:
                    continue  # released meanwhile
                if await self.col.find_one({"_id": holder["account_id"]}, {"_id": 1}):
                    raise NitTaken(holder["account_id"]) from None
                if holder["at"] > datetime.now(UTC) - ORPHAN_CLAIM_AFTER:
                    raise NitTaken(holder["account_id"]) from None  # its account is coming
                await claims.delete_one({"_id": nit, "account_id": holder["account_id"]})
        raise NitTaken("")

    async def release_nit(self, nit: str, account_id: str) -> None:
        await self._db[NIT_CLAIMS].delete_one({"_id": nit, "account_id": account_id})

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.col.insert_one(doc)

    async def stale_drafts(self, before: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Drafts last edited or uploaded to before ``before``, oldest first."""
        query = {"status": "draft", "updated_at": {"$lt": before}}
        cursor = self.col.find(query, {"_outbox": 0}).sort("updated_at", 1).limit(limit)
        return await cursor.to_list()

    async def delete_draft(self, account_id: str) -> bool:
        """Delete the account if it is still a draft with nothing left to publish."""
        result = await self.col.delete_one({"_id": account_id, "status": "draft"})
        return result.deleted_count == 1

    async def get(self, account_id: str) -> dict[str, Any] | None:
        return await self.col.find_one({"_id": account_id}, {"_outbox": 0})

    async def get_many(self, account_ids: list[str]) -> dict[str, dict[str, Any]]:
        docs = await self.col.find({"_id": {"$in": account_ids}}, {"_outbox": 0}).to_list()
        return {d["_id"]: d for d in docs}

    async def update(self, account_id: str, update: dict[str, Any]) -> None:
        """Change an account (the caller holds its turn) once the relay is done with it."""
        await update_settled(self.col, account_id, update)

    async def search(
        self,
        *,
        name_key: str | None,
        nit: str | None,
        country: str | None,
        status: str | None = None,
        account_ids: list[str] | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"status": status} if status else {}
        if account_ids is not None:
            query["_id"] = {"$in": account_ids}
        if name_key:
            query["search_key"] = {"$regex": re.escape(name_key)}
        if nit:
            query["nit"] = nit
        if country:
            query["country"] = country
        cursor = self.col.find(query, {"_outbox": 0}).sort("search_key", 1).limit(limit)
        return await cursor.to_list()

    async def active_suppliers(
        self, text_key: str | None, skip: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        query: dict[str, Any] = {"kind": "supplier", "status": "active"}
        if text_key:
            if text_key.isdigit():
                query["nit"] = text_key
            else:
                query["search_key"] = {"$regex": re.escape(text_key)}
        total = await self.col.count_documents(query)
        cursor = self.col.find(query, {"_outbox": 0}).sort("search_key", 1).skip(skip)
        return total, await cursor.limit(limit).to_list()
