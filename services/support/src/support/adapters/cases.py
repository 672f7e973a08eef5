"""Cases in MongoDB: one document per case, its history inside it.

``_id`` is the case number, and the unique ``_id`` is what makes numbers unique and gap-free: a
number exists only once its case is inserted. ``source_key`` is unique too, so one source (a web
request, one ``EntitySubmitted`` event) opens one case. Every action is one conditional update
of the case (``AggregateStore.save``): its new state, its history entry and its events together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import AggregateStore, Store
from secop_runtime.mongo import ensure_indexes, lookup_index

from support.domain.cases import OPEN, Case
from support.domain.queue import QueueFilter

CASES = "cases"

#: What a list of cases never needs: the history (it can be long) and the outbox.
_LISTED = {"history": 0, "_outbox": 0}


class Cases(Store[Case], Protocol):
    """The case store the service layer sees; :class:`CaseStore` and the fake both are one."""

    async def highest_seq(self, year: int) -> int: ...
    async def find_by_source_event(self, event_id: str) -> Case | None: ...
    async def find_open_for_account(
        self, subject: str, account_id: str, nit: str, emails: set[str]
    ) -> Case | None: ...
    async def queue(
        self, query: QueueFilter, offset: int, limit: int
    ) -> tuple[list[Case], int]: ...


#: A case is written by its requester and several agents at once (messages, a resolve, an
#: activation decision): each loser decides again, so allow as many rounds as the desk's
#: busiest case needs (the claim loop this replaced tried 20 times).
CASE_RETRIES = 20


class CaseStore(AggregateStore[Case]):
    def __init__(self, db: AsyncDatabase) -> None:
        super().__init__(db[CASES], Case, unique=("source_key",), retries=CASE_RETRIES)

    async def create_indexes(self) -> None:
        # The names MongoDB gave these before the aggregate store existed, kept so that a
        # database created then needs nothing new.
        await ensure_indexes(
            self.collection,
            IndexModel([("year", ASCENDING), ("seq", DESCENDING)], unique=True),
            IndexModel("source_key", unique=True),
            IndexModel([("awaiting_response", DESCENDING), ("first_response_due", 1)]),
            lookup_index("status", "status_1"),
            lookup_index("account_id", "account_id_1"),
            lookup_index("nit", "nit_1"),
            IndexModel("source_event_ids"),  # an array: FerretDB cannot narrow by an element
        )

    async def highest_seq(self, year: int) -> int:
        docs = self.collection.find({"year": year}, {"seq": 1}).sort("seq", -1).limit(1)
        found = await docs.to_list()
        return int(found[0]["seq"]) if found else 0

    async def find_by_source_event(self, event_id: str) -> Case | None:
        return await self.find_one(source_event_ids=event_id)

    async def find_open_for_account(
        self, subject: str, account_id: str, nit: str, emails: set[str]
    ) -> Case | None:
        """The oldest open case on ``subject`` for this account (by id, or else by NIT) that
        one of ``emails`` (lower-case) opened: a stranger naming the NIT links nothing."""
        match = {"subject": subject, "status": OPEN}
        for query in ({**match, "account_id": account_id}, {**match, "nit": nit}):
            docs = self.collection.find(query).sort("opened_at", 1).limit(50)
            for doc in await docs.to_list():
                if str(doc["requester"]["email"]).lower() in emails:
                    return self.load(doc)
        return None

    async def queue(self, query: QueueFilter, offset: int, limit: int) -> tuple[list[Case], int]:
        """A page of the queue (cases without their history: a list never shows it)."""
        where = queue_query(query)
        cursor = (
            self.collection.find(where, _LISTED)
            .sort([("awaiting_response", -1), ("first_response_due", 1), ("_id", 1)])
            .skip(offset)
            .limit(limit)
        )
        docs = await cursor.to_list()
        return [self.load(d) for d in docs], await self.collection.count_documents(where)


def queue_query(q: QueueFilter) -> dict[str, Any]:
    """``QueueFilter.matches`` as a MongoDB query."""
    clauses: list[dict[str, Any]] = []
    if q.status != "all":
        clauses.append({"status": q.status})
    if q.subject:
        clauses.append({"subject": q.subject})
    if q.unassigned or q.assignee:
        clauses.append({"assignee_id": None if q.unassigned else q.assignee})
    if q.overdue is not None:
        clauses.append(_overdue(q) if q.overdue else {"$or": list(_on_time(q))})
    return {"$and": clauses} if clauses else {}


def _overdue(q: QueueFilter) -> dict[str, Any]:
    return {"status": OPEN, "awaiting_response": True, "first_response_due": {"$lt": q.now}}


def _on_time(q: QueueFilter) -> Iterable[dict[str, Any]]:
    yield {"status": {"$ne": OPEN}}
    yield {"awaiting_response": False}
    yield {"first_response_due": {"$gte": q.now}}
