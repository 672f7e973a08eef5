"""What the use cases need from the outside, each with a real adapter (``adapters/``) and a
fake twin (``adapters/fakes.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, BinaryIO, Protocol
from uuid import UUID

from membership.domain.accounts import Account


class AccountQueries(Protocol):
    """Reads across accounts (the store reads one by id)."""

    async def of_member(self, user_id: str) -> list[Account]: ...
    async def search(
        self,
        *,
        name_key: str | None,
        nit: str | None,
        country: str | None,
        status: str | None = None,
        account_ids: list[str] | None = None,
        limit: int = 50,
    ) -> list[Account]: ...
    async def active_suppliers(
        self, text_key: str | None, skip: int, limit: int
    ) -> tuple[int, list[Account]]: ...
    async def stale_drafts(self, before: datetime, limit: int = 200) -> list[Account]: ...
    async def with_old_invitations(self, cutoff: datetime, limit: int = 500) -> list[str]: ...


class NitClaims(Protocol):
    """One live account per NIT; ``claim`` raises ``NitTaken`` naming the holder."""

    async def claim(self, nit: str, account_id: str) -> None: ...
    async def release(self, nit: str, account_id: str) -> None: ...


class Files(Protocol):
    async def upload(
        self, filename: str, source: BinaryIO, metadata: dict[str, Any]
    ) -> tuple[str, int, str]: ...
    async def delete_file(self, file_id: str) -> None: ...
    def stream(self, file_id: str) -> AsyncIterator[bytes]: ...


class Users(Protocol):
    """The local view of users, fed by registration's events."""

    async def record(self, *facts: dict[str, Any]) -> int: ...
    async def get(self, user_id: UUID | str) -> dict[str, Any] | None: ...
    async def get_many(self, user_ids: Iterable[UUID | str]) -> dict[str, dict[str, Any]]: ...


class DocumentReads(Protocol):
    async def record(
        self, account_id: str, doc_type: str, reader_id: str, reader_as: str, at: datetime
    ) -> None: ...
    async def prune(self, before: datetime) -> None: ...
    async def page(
        self, account_id: str, page: int, size: int
    ) -> tuple[list[dict[str, Any]], int]: ...


class InvitationRecipients(Protocol):
    """Invitation emails per address and UTC day, from every account together."""

    async def take(self, email_key: str, at: datetime, limit: int) -> bool: ...
    async def give_back(self, email_key: str, at: datetime) -> None: ...
    async def prune(self, now: datetime) -> None: ...


class CaseArchive(Protocol):
    """Forgets resolved support cases (and never-qualified ones) last heard of before a time."""

    async def prune(self, before: datetime) -> int: ...
