"""In-memory twins of the adapters, for the service-layer unit tier (no database, no broker).

Accounts live in runtime's ``MemoryStore`` (the same contract as ``AggregateStore``, proved by
the shared store suite); the rest keep the adapters' behaviour in dictionaries.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, BinaryIO
from uuid import UUID

from secop_runtime.aggregates import MemoryStore

from membership.adapters.accounts import ACCOUNT_RETRIES
from membership.adapters.invitation_recipients import day_id
from membership.adapters.nit_claims import NitTaken
from membership.domain.accounts import ACTIVE, DRAFT, REJECTED, Account
from membership.domain.cases import AccountCase
from membership.domain.invitations import Invitation
from membership.domain.library import LibraryDocument


def memory_accounts(store: type[MemoryStore[Account]] = MemoryStore) -> MemoryStore[Account]:
    """Accounts in memory, with the draft slot unique as the real store's index makes it."""
    return store(Account, unique=("draft_slot",), retries=ACCOUNT_RETRIES)


def memory_library() -> MemoryLibrary:
    """Library documents in memory, a live document's slot unique as the real index makes it."""
    return MemoryLibrary(LibraryDocument, unique=("slot",))


class MemoryLibrary(MemoryStore[LibraryDocument]):
    """``adapters.library.LibraryCollection`` in memory (whose events are published at once:
    none is ever pending)."""

    async def page(
        self, account_id: str, page: int, size: int
    ) -> tuple[list[LibraryDocument], int]:
        mine = sorted(
            (d for d in self.documents.values() if d["account_id"] == account_id),
            key=lambda d: (d["updated_at"], d["_id"]),
            reverse=True,
        )
        return [self.load(d) for d in mine[(page - 1) * size : page * size]], len(mine)

    async def prune_removed(self, before: datetime) -> int:
        gone = [
            key
            for key, doc in self.documents.items()
            if doc.get("removed") and doc["removed_at"] < before
        ]
        for key in gone:
            del self.documents[key]
        return len(gone)


class FakeAccountQueries:
    def __init__(self, store: MemoryStore[Account]) -> None:
        self._store = store

    def _all(self) -> list[Account]:
        found = [self._store.load(d) for d in self._store.documents.values()]
        return sorted(found, key=lambda a: a.search_key)

    async def of_member(self, user_id: str) -> list[Account]:
        return [a for a in self._all() if any(m.user_id == user_id for m in a.members)]

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
        found = [
            a
            for a in self._all()
            if (status is None or a.status == status)
            and (account_ids is None or a.id in account_ids)
            and (not name_key or re.search(re.escape(name_key), a.search_key))
            and (not nit or a.nit == nit)
            and (not country or a.country == country)
        ]
        return found[:limit]

    async def active_suppliers(
        self, text_key: str | None, skip: int, limit: int
    ) -> tuple[int, list[Account]]:
        found = [
            a
            for a in self._all()
            if a.kind == "supplier"
            and a.status == ACTIVE
            and (not text_key or text_key in (a.nit if text_key.isdigit() else a.search_key))
        ]
        return len(found), found[skip : skip + limit]

    async def stale_drafts(self, before: datetime, limit: int = 200) -> list[Account]:
        found = [a for a in self._all() if a.status == DRAFT and a.updated_at < before]
        return sorted(found, key=lambda a: a.updated_at)[:limit]

    async def with_old_invitations(self, cutoff: datetime, limit: int = 500) -> list[str]:
        def old(i: Invitation) -> bool:
            return (i.closed_at is not None and i.closed_at < cutoff) or i.expires_at < cutoff

        return [a.id for a in self._all() if any(old(i) for i in a.invitations)][:limit]


class FakeNitClaims:
    def __init__(self, store: MemoryStore[Account]) -> None:
        self._store = store
        self.claims: dict[str, str] = {}

    async def claim(self, nit: str, account_id: str) -> None:
        holder = self.claims.get(nit)
        if holder is not None and self._holds(holder):
            raise NitTaken(holder)
        self.claims[nit] = account_id

    def _holds(self, account_id: str) -> bool:
        doc = self._store.documents.get(account_id)
        return doc is None or doc.get("status") != REJECTED  # None: its account is coming

    async def release(self, nit: str, account_id: str) -> None:
        if self.claims.get(nit) == account_id:
            del self.claims[nit]


class FakeFiles:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def upload(
        self, filename: str, source: BinaryIO, metadata: dict[str, Any]
    ) -> tuple[str, int, str]:
        content = source.read()
        file_id = uuid.uuid4().hex[:24]
        self.files[file_id] = content
        return file_id, len(content), hashlib.sha256(content).hexdigest()

    async def delete_file(self, file_id: str) -> None:
        self.files.pop(file_id, None)

    async def stream(self, file_id: str) -> AsyncIterator[bytes]:
        yield self.files[file_id]


class FakeUsers:
    """The local user view, told directly what registration's events would have told."""

    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}

    def know(self, user_id: UUID | str, full_name: str, email: str) -> None:
        self.views[str(user_id)] = {
            "user_id": str(user_id),
            "full_name": full_name,
            "email": email,
            "confirmed": True,
        }

    async def record(self, *facts: dict[str, Any]) -> int:
        for fact in facts:
            view = self.views.setdefault(fact["user_id"], {"user_id": fact["user_id"]})
            view.update({k: v for k, v in fact["fields"].items() if v is not None})
        return len(facts)

    async def get(self, user_id: UUID | str) -> dict[str, Any] | None:
        return self.views.get(str(user_id))

    async def get_many(self, user_ids: Iterable[UUID | str]) -> dict[str, dict[str, Any]]:
        return {str(u): self.views[str(u)] for u in user_ids if str(u) in self.views}


class FakeDocumentReads:
    def __init__(self) -> None:
        self.reads: list[dict[str, Any]] = []
        self._ids = itertools.count()

    async def record(
        self, account_id: str, doc_type: str, reader_id: str, reader_as: str, at: datetime
    ) -> None:
        self.reads.append(
            {
                "_id": str(next(self._ids)),
                "account_id": account_id,
                "doc_type": doc_type,
                "reader_id": reader_id,
                "reader_as": reader_as,
                "read_at": at,
            }
        )

    async def prune(self, before: datetime) -> None:
        self.reads = [r for r in self.reads if r["read_at"] >= before]

    async def page(self, account_id: str, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
        mine = sorted(
            (r for r in self.reads if r["account_id"] == account_id),
            key=lambda r: r["read_at"],
            reverse=True,
        )
        return mine[(page - 1) * size : page * size], len(mine)


class FakeInvitationRecipients:
    """Invitation emails per address and UTC day, in a dictionary keyed as the real ``_id``."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def take(self, email_key: str, at: datetime, limit: int) -> bool:
        key = day_id(email_key, at)
        if self.counts.get(key, 0) >= limit:
            return False
        self.counts[key] = self.counts.get(key, 0) + 1
        return True

    async def give_back(self, email_key: str, at: datetime) -> None:
        key = day_id(email_key, at)
        self.counts[key] = self.counts.get(key, 0) - 1

    async def prune(self, now: datetime) -> None:
        today = now.astimezone(UTC).date().isoformat()
        self.counts = {k: n for k, n in self.counts.items() if k.rsplit(":", 1)[1] >= today}


class FakeCaseArchive:
    """``CaseArchive`` over the memory store of cases."""

    def __init__(self, store: MemoryStore[AccountCase]) -> None:
        self._store = store

    async def prune(self, before: datetime) -> int:
        gone = [
            key
            for key, doc in self._store.documents.items()
            if doc["status_at"] < before
            and (doc["status"] == "resolved" or doc.get("qualified") is not True)
        ]
        for key in gone:
            del self._store.documents[key]
        return len(gone)
