"""Memberships in MongoDB: one document per membership (collection ``memberships``).

``live_key`` is unique: a pending or accepted membership holds ``{account_id}:{user_id}``, a
rejected or cancelled one ``{account_id}:{user_id}:{membership_id}``. So a user can never have
two live memberships in one account, even when two requests race (the unique index decides, on
FerretDB too), while their history stays.
"""

from __future__ import annotations

from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.mongo import ensure_indexes

from membership.adapters.settle import update_settled
from membership.domain.memberships import ACCEPTED, ADMINISTRATOR, LIVE

MEMBERSHIPS = "memberships"


def live_key(account_id: str, user_id: str, membership_id: str, status: str) -> str:
    base = f"{account_id}:{user_id}"
    return base if status in LIVE else f"{base}:{membership_id}"


class MembershipStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.col = db[MEMBERSHIPS]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase) -> None:
        await ensure_indexes(
            db[MEMBERSHIPS],
            IndexModel("live_key", unique=True, name="one_live_membership"),
            IndexModel([("account_id", 1), ("status", 1)], name="by_account"),
            IndexModel([("user_id", 1), ("requested_at", -1)], name="by_user"),
        )

    async def insert(self, doc: dict[str, Any]) -> None:
        """Raises ``DuplicateKeyError`` when the user already has a live membership there."""
        await self.col.insert_one(doc)

    async def update(self, membership_id: str, update: dict[str, Any]) -> None:
        """Change a membership (the caller holds the roster turn) once the relay is done."""
        await update_settled(self.col, membership_id, update)

    async def latest(self, account_id: str, user_id: str) -> dict[str, Any] | None:
        """The user's live membership in the account, else their most recent one."""
        live = await self.col.find_one({"live_key": f"{account_id}:{user_id}"}, {"_outbox": 0})
        if live:
            return live
        found = (
            await self.col.find({"account_id": account_id, "user_id": user_id}, {"_outbox": 0})
            .sort("requested_at", -1)
            .limit(1)
            .to_list()
        )
        return found[0] if found else None

    async def accepted(self, account_id: str, user_id: str) -> dict[str, Any] | None:
        return await self.col.find_one(
            {"live_key": f"{account_id}:{user_id}", "status": ACCEPTED}, {"_outbox": 0}
        )

    async def administrators(self, account_id: str) -> list[str]:
        docs = await self.col.find(
            {"account_id": account_id, "status": ACCEPTED}, {"user_id": 1, "roles": 1}
        ).to_list()
        return [d["user_id"] for d in docs if ADMINISTRATOR in d.get("roles", [])]

    async def of_account(self, account_id: str, status: str | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"account_id": account_id}
        if status:
            query["status"] = status
        return await self.col.find(query, {"_outbox": 0}).sort("requested_at", 1).to_list()

    async def delete_of_account(self, account_id: str) -> None:
        """A discarded draft's memberships (only its founder's can exist)."""
        await self.col.delete_many({"account_id": account_id})

    async def of_user(self, user_id: str, status: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"user_id": user_id}
        if status:
            query["status"] = status
        return await self.col.find(query, {"_outbox": 0}).sort("requested_at", -1).to_list()
