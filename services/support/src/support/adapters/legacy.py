"""Cases stored before a case held its own history: brought into today's shape once, at start.

Until issue 18 every action inserted an entry ``<number>:<version>`` into ``case_history`` (the
claim that serialised actions) and then copied the fields it set onto the case, counting actions
in the case's ``version``. Such a case has no ``_v``. Adopting it moves its entries into its
``history``, re-applies an entry whose copy a crash lost (what ``repair`` used to do), hands any
events still waiting in those entries to the case's own outbox (``case_history`` is no longer
relayed) and drops ``version`` (the store's version is ``_v``). One update per case, only while it
has no ``_v``: two instances starting at once adopt each case once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.aggregates import VERSION
from secop_runtime.outbox import OUTBOX, PENDING, PENDING_MARK, PENDING_SINCE

from support.adapters.cases import CASES

HISTORY = "case_history"
_ENTRY_FIELDS = ("version", "action", "actor", "at", "details", "body", "public")

log = logging.getLogger(__name__)


async def adopt_legacy_cases(db: AsyncDatabase) -> int:
    """Adopt every case still in the old shape; how many were."""
    if HISTORY not in await db.list_collection_names():
        return 0
    adopted = 0
    legacy = db[CASES].find({VERSION: {"$exists": False}}, {"_id": 1, "version": 1})
    async for case in legacy:
        entries = await db[HISTORY].find({"case_number": case["_id"]}).sort("version", 1).to_list()
        update = _adoption(entries, int(case.get("version") or 0))
        done = await db[CASES].update_one({"_id": case["_id"], VERSION: {"$exists": False}}, update)
        if done.modified_count:
            # Their events now wait in the case's outbox: leave no second copy behind.
            await db[HISTORY].update_many(
                {"case_number": case["_id"]}, {"$unset": {OUTBOX: "", PENDING: ""}}
            )
        adopted += done.modified_count
    if adopted:
        log.info("cases adopted from case_history", extra={"cases": adopted})
    return adopted


def _adoption(entries: list[dict[str, Any]], copied_up_to: int) -> dict[str, Any]:
    history = [{k: e[k] for k in _ENTRY_FIELDS if e.get(k) is not None} for e in entries]
    # Entries past the case's version claimed it, but a crash lost their copy onto the case.
    lost: dict[str, Any] = {}
    for entry in entries:
        if entry["version"] > copied_up_to:
            lost |= entry.get("state") or {}
    waiting = [event for e in entries for event in e.get(OUTBOX) or []]
    to_set = {**lost, "history": history, VERSION: 1}
    update: dict[str, Any] = {"$unset": {"version": ""}}
    if waiting:
        to_set |= {PENDING: PENDING_MARK, PENDING_SINCE: datetime.now(UTC)}
        update["$push"] = {OUTBOX: {"$each": waiting}}
    nulls = {k for k, v in to_set.items() if v is None}
    update["$set"] = {k: v for k, v in to_set.items() if k not in nulls}
    update["$unset"] |= dict.fromkeys(nulls, "")
    return update
