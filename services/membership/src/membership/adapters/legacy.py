"""Accounts written before the account became one aggregate (issue 18) kept their memberships
(collection ``memberships``) and their documents' current versions (``account_documents``)
apart. At start, each such account (it has no version yet) gets them folded in, once; the
old collections are then read by nobody and may be dropped by an operator once nothing waits in
their outboxes. The fold assumes no instance of the previous version still writes them (the
README's upgrade note: stop the old instances, then start these).
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from secop_contracts import Event
from secop_runtime.aggregates import VERSION, AggregateStore

from membership.domain.accounts import Account
from membership.domain.documents import StoredDocument
from membership.domain.memberships import Membership

MEMBERSHIPS, DOCUMENTS = "memberships", "account_documents"
log = logging.getLogger(__name__)


async def fold_legacy_accounts(db: AsyncDatabase, store: AggregateStore[Account]) -> int:
    """Fold the old collections into every unversioned account; returns how many changed."""
    folded = 0
    async for doc in store.collection.find({VERSION: {"$exists": False}}, {"_id": 1}):
        account_id = doc["_id"]
        members = await db[MEMBERSHIPS].find({"account_id": account_id}).to_list()
        documents = await db[DOCUMENTS].find({"account_id": account_id}).to_list()
        if not (members or documents):
            continue

        def fold(
            account: Account, members: Any = members, documents: Any = documents
        ) -> list[Event]:
            if account.version:  # another instance folded it (or it changed) first: keep that
                return []
            account.members = [
                Membership.model_validate({**d, "membership_id": d["_id"]})
                for d in sorted(members, key=lambda d: d["requested_at"])
            ]
            account.documents = {d["doc_type"]: StoredDocument.model_validate(d) for d in documents}
            return []

        await store.change(account_id, fold)
        folded += 1
    if folded:
        log.info("folded legacy memberships and documents", extra={"accounts": folded})
    return folded
