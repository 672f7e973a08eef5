"""Support cases about accounts (collection ``account_cases``): the desk's view of them,
written from support's events (``domain.cases``), with ``AccountCaseUpdated`` in the outbox."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore
from secop_runtime.outbox import NOTHING_PENDING

from membership.domain.cases import AccountCase

ACCOUNT_CASES = "account_cases"


def case_store(db: AsyncDatabase) -> AggregateStore[AccountCase]:
    return AggregateStore(
        db[ACCOUNT_CASES],
        AccountCase,
        indexed=([("account_id", ASCENDING), ("status", ASCENDING)],),
    )


def _forgettable(before: datetime) -> dict[str, object]:
    """Resolved cases, and cases that were never the account's (a stranger's, or one never
    heard opened), whose last news is older than ``before``; never with events unsent."""
    return {
        "status_at": {"$lt": before},
        "$or": [{"status": "resolved"}, {"qualified": {"$ne": True}}],
        **NOTHING_PENDING,
    }


class CaseArchive:
    """The maintenance side of ``account_cases``."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.col = db[ACCOUNT_CASES]

    async def prune(self, before: datetime) -> int:
        return (await self.col.delete_many(_forgettable(before))).deleted_count
