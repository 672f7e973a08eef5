"""Accounts in MongoDB (collection ``accounts``): the aggregate store, and the read queries
that look across accounts (the public search, the directory, a user's accounts).

Each account is one document holding its form, documents and roster (``domain.accounts``
says why), saved through ``AggregateStore``. ``draft_slot`` has a unique *sparse* index: only
drafts carry a slot, and every other account has none (a plain unique index would take two
missing values for one on MongoDB).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore
from secop_runtime.mongo import ensure_indexes

from membership.domain.accounts import ACTIVE, DRAFT, Account

ACCOUNTS = "accounts"
#: Never part of a read: the outbox's bookkeeping.
_HIDDEN = {"_outbox": 0}


#: An account is written by everyone who asks to join it and by its administrators at once
#: (each request is an entry of its roster): each loser decides again after a growing random
#: wait, so a burst of requests spreads out instead of answering 409.
ACCOUNT_RETRIES = 20


def account_store(db: AsyncDatabase) -> AggregateStore[Account]:
    return AggregateStore(
        db[ACCOUNTS],
        Account,
        indexed=(
            "nit",
            "search_key",
            [("kind", ASCENDING), ("status", ASCENDING)],
            [("status", ASCENDING), ("updated_at", ASCENDING)],
            "members.user_id",
        ),
        retries=ACCOUNT_RETRIES,
    )


async def create_indexes(store: AggregateStore[Account]) -> None:
    await store.create_indexes()
    await ensure_indexes(
        store.collection,
        IndexModel([("draft_slot", ASCENDING)], unique=True, sparse=True, name="uniq_draft_slot"),
    )


class AccountQueries:
    """Reads across accounts; each returns aggregates as the store loads them."""

    def __init__(self, store: AggregateStore[Account]) -> None:
        self._store = store
        self._col = store.collection

    async def _find(self, query: dict[str, Any], limit: int = 0, skip: int = 0) -> list[Account]:
        cursor = self._col.find(query, _HIDDEN).sort("search_key", 1).skip(skip).limit(limit)
        return [self._store.load(d) for d in await cursor.to_list()]

    async def of_member(self, user_id: str) -> list[Account]:
        """Every account in which the user has (or had) a membership."""
        return await self._find({"members.user_id": user_id})

    async def search(
        self,
        *,
        name_key: str | None,
        nit: str | None,
        country: str | None,
        status: str | None = None,
        account_ids: list[str] | None = None,
        limit: int = 50,
    ) -> list[Account]:
        query: dict[str, Any] = {"status": status} if status else {}
        if account_ids is not None:
            query["_id"] = {"$in": account_ids}
        if name_key:
            query["search_key"] = {"$regex": re.escape(name_key)}
        if nit:
            query["nit"] = nit
        if country:
            query["country"] = country
        return await self._find(query, limit)

    async def active_suppliers(
        self, text_key: str | None, skip: int, limit: int
    ) -> tuple[int, list[Account]]:
        query: dict[str, Any] = {"kind": "supplier", "status": ACTIVE}
        if text_key:
            if text_key.isdigit():
                query["nit"] = text_key
            else:
                query["search_key"] = {"$regex": re.escape(text_key)}
        total = await self._col.count_documents(query)
        return total, await self._find(query, limit, skip)

    async def stale_drafts(self, before: datetime, limit: int = 200) -> list[Account]:
        """Drafts last edited or uploaded to before ``before``, oldest first."""
        query = {"status": DRAFT, "updated_at": {"$lt": before}}
        cursor = self._col.find(query, _HIDDEN).sort("updated_at", 1).limit(limit)
        return [self._store.load(d) for d in await cursor.to_list()]

    async def with_old_invitations(self, cutoff: datetime, limit: int = 500) -> list[str]:
        """Accounts holding an invitation that closed, or (pending) expired, before
        ``cutoff``: each of them is one the retention drops.

        Run by the hourly maintenance pass. On FerretDB 1.24 no index serves a range on a
        path into an array, so this reads and decodes every account document (the whole
        collection, ``_id`` alone projected back): at 100,000 accounts a pass costs about what
        ``bench_scale``'s slowest full scans do, once an hour, off the request paths. On
        MongoDB it is a collection scan too (no index on ``invitations.*``: one would slow
        every write of every account to serve an hourly pass).
        """
        query = {
            "$or": [
                {"invitations.closed_at": {"$lt": cutoff}},
                {"invitations.expires_at": {"$lt": cutoff}},
            ]
        }
        docs = await self._col.find(query, {"_id": 1}).limit(limit).to_list()
        return [str(d["_id"]) for d in docs]
