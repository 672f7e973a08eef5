"""Support cases about accounts (collection ``account_cases``): the desk's view of them,
written from support's events (``domain.cases``), with ``AccountCaseUpdated`` in the outbox."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore

from membership.domain.cases import AccountCase

ACCOUNT_CASES = "account_cases"


def case_store(db: AsyncDatabase) -> AggregateStore[AccountCase]:
    return AggregateStore(
        db[ACCOUNT_CASES],
        AccountCase,
        indexed=([("account_id", ASCENDING), ("status", ASCENDING)],),
    )
