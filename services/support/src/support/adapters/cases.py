"""Cases and their history in MongoDB.

``cases``: one document per case, ``_id`` = the case number (the unique ``_id`` is what makes
numbers unique and gap-free: a number exists only once its case is inserted). ``source_key`` is
unique too, so one source (a web request, one ``EntitySubmitted`` event) opens one case.

``case_history``: one document per action, ``_id`` = ``<case number>:<version>``. Inserting the
next version is the claim that serialises actions on a case (FerretDB's updates are not atomic;
its unique index is): two agents acting at once cannot both win version n. The entry carries the
action's events in its outbox and the fields it sets (``state``), which are then copied onto the
case; if a crash loses that copy, the next action finds the entry already there and re-applies
it (:meth:`CaseStore.repair`).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from secop_contracts import Event
from secop_runtime.mongo import ensure_indexes
from secop_runtime.outbox import OUTBOX, PENDING, new_document

from support.domain.cases import Case, Change

CASES = "cases"
HISTORY = "case_history"


def history_id(number: str, version: int) -> str:
    return f"{number}:{version:08d}"


def to_case(doc: dict[str, Any]) -> Case:
    return Case(
        number=doc["_id"],
        subject=doc["subject"],
        status=doc["status"],
        version=doc.get("version", 0),
        assignee_id=doc.get("assignee_id"),
        account_id=doc.get("account_id"),
        activation_linked=doc.get("activation_linked", False),
        awaiting_response=doc.get("awaiting_response", False),
        first_response_due=doc.get("first_response_due"),
        source_event_ids=list(doc.get("source_event_ids") or []),
    )


class CaseStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._cases = db[CASES]
        self._history = db[HISTORY]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(
            self._cases,
            IndexModel([("year", ASCENDING), ("seq", DESCENDING)], unique=True),
            IndexModel("source_key", unique=True),
            IndexModel([("awaiting_response", DESCENDING), ("first_response_due", 1)]),
            IndexModel("status"),
            IndexModel("account_id"),
            IndexModel("nit"),
            IndexModel("source_event_ids"),
        )
        await ensure_indexes(
            self._history, IndexModel([("case_number", ASCENDING), ("version", ASCENDING)])
        )

    # -- opening ---------------------------------------------------------------------------
    async def highest_seq(self, year: int) -> int:
        docs = await self._cases.find({"year": year}, {"seq": 1}).sort("seq", -1).limit(1).to_list()
        return int(docs[0]["seq"]) if docs else 0

    async def insert(self, doc: dict[str, Any], *events: Event) -> bool:
        """Insert a new case; False when its number (or its source) is already taken."""
        try:
            await self._cases.insert_one(new_document(doc, *events))
            return True
        except DuplicateKeyError:
            return False

    async def by_source_key(self, source_key: str) -> dict[str, Any] | None:
        return await self._cases.find_one({"source_key": source_key}, _PUBLIC_FIELDS)

    # -- reading ---------------------------------------------------------------------------
    async def get(self, number: str) -> dict[str, Any] | None:
        return await self._cases.find_one({"_id": number}, _PUBLIC_FIELDS)

    async def history(self, number: str) -> list[dict[str, Any]]:
        return (
            await self._history.find({"case_number": number}, {OUTBOX: 0, PENDING: 0, "state": 0})
            .sort("version", 1)
            .to_list()
        )

    async def find_open_for_account(
        self, subject: str, account_id: str, nit: str, emails: set[str]
    ) -> dict[str, Any] | None:
        """The oldest open case on ``subject`` for this account (by id, or else by NIT) that
        one of ``emails`` (lower-case) opened: a stranger naming the NIT links nothing."""
        match = {"subject": subject, "status": "open"}
        for query in ({**match, "account_id": account_id}, {**match, "nit": nit}):
            docs = self._cases.find(query, _PUBLIC_FIELDS).sort("opened_at", 1).limit(50)
            for doc in await docs.to_list():
                if str(doc["requester"]["email"]).lower() in emails:
                    return doc
        return None

    async def find_by_source_event(self, event_id: str) -> dict[str, Any] | None:
        return await self._cases.find_one({"source_event_ids": event_id}, _PUBLIC_FIELDS)

    async def queue(
        self, query: dict[str, Any], offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Most urgent first: cases awaiting an answer by due date, then the rest by due date."""
        cursor = (
            self._cases.find(query, _PUBLIC_FIELDS)
            .sort([("awaiting_response", -1), ("first_response_due", 1), ("_id", 1)])
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list(), await self._cases.count_documents(query)

    # -- acting ----------------------------------------------------------------------------
    async def append(self, case: Case, change: Change, *events: Event) -> bool:
        """Claim version ``case.version + 1`` with this change; False if another action did."""
        version = case.version + 1
        entry = {
            "_id": history_id(case.number, version),
            "case_number": case.number,
            "version": version,
            "action": change.action,
            "actor": change.actor.as_dict(),
            "at": change.at,
            "details": change.details,
            "body": change.body,
            "public": change.public,
            "state": change.state,
        }
        try:
            await self._history.insert_one(new_document(entry, *events))
        except DuplicateKeyError:
            return False
        await self._apply(case.number, version, change.state)
        return True

    async def repair(self, case: Case) -> bool:
        """Copy onto the case the entry that claimed its next version (a crash lost the copy)."""
        entry = await self._history.find_one({"_id": history_id(case.number, case.version + 1)})
        if entry is None:
            return False
        await self._apply(case.number, entry["version"], entry.get("state") or {})
        return True

    async def _apply(self, number: str, version: int, state: dict[str, Any]) -> None:
        await self._cases.update_one(
            {"_id": number, "version": {"$lt": version}}, {"$set": {**state, "version": version}}
        )


#: Outbox bookkeeping never leaves the store.
_PUBLIC_FIELDS = {OUTBOX: 0, PENDING: 0}
