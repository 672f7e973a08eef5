"""The account's document library: administrators add, replace and remove; members read.

The library opens once the account is submitted: a draft may expire or be discarded, and its
documents would outlive it. The file rules are the registration documents'
(``documents.store_file``: name, type, sniffed content, size), and so is the order: who, the
account's status, the document and the room left (``LIBRARY_MAX_DOCUMENTS``,
``LIBRARY_MAX_BYTES``) are checked before the body is read (``may_add``, ``may_replace``). A
new version is stored completely first; only then does the document point at it (a change of
the document, with its event in the same write); only after that is anything deleted
(versions beyond ``LIBRARY_VERSIONS_KEPT``, or every version of a removed document). A change
refused for certain deletes the new file and leaves what was stored as it was; a change that
failed otherwise may have been saved, and keeps it (``documents.discarded_if_refused``).

Outside the account, members of an active buyer entity read an active supplier's library
(``documents.may_read``, the registration documents' rule), its current versions only, each
download recorded for the supplier's administrators; nobody else does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from secop_contracts import Event
from secop_runtime.aggregates import Duplicate, Store
from secop_runtime.auth import Principal
from secop_runtime.errors import Conflict, NotFound, Refused

from membership.domain.accounts import DRAFT, REJECTED, Account
from membership.domain.documents import library_doc
from membership.domain.library import (
    LibraryDocument,
    LibraryVersion,
    StoredFile,
    bytes_kept,
    check_title,
    free_slots,
)
from membership.service_layer.common import account_or_404, audience, now, require_admin
from membership.service_layer.documents import discarded_if_refused, may_read, store_file

if TYPE_CHECKING:
    from membership.service_layer.context import Context

NOTICE = "document_changes"
#: At most this many documents are read for one account's list (``LIBRARY_MAX_DOCUMENTS``
#: is at most as many).
LIST_LIMIT = 1000
NO_SUCH_DOCUMENT = "no such document in the account's library"
READERS = (
    "only the account's members may read its library; members of active buyer entities may "
    "read an active supplier's"
)
NOT_YET = "the library opens once the account is submitted"


class LibraryStore(Store[LibraryDocument], Protocol):
    """The library documents' store (``adapters.library.LibraryCollection``, and its twin
    ``adapters.fakes.MemoryLibrary``), with what reads or deletes across documents."""

    async def page(
        self, account_id: str, page: int, size: int
    ) -> tuple[list[LibraryDocument], int]: ...
    async def prune_removed(self, before: datetime) -> int: ...


async def may_add(ctx: Context, principal: Principal, account_id: str, size: int = 1) -> Account:
    """Refuse before the body is read: only an administrator, a submitted account that was not
    rejected, and a library with room for one more document and ``size`` more bytes (the
    declared size once known; both checked again after: the slot race-free when the document
    takes it, the bytes once the file is stored)."""
    account = await _writable(ctx, principal, account_id, new_content=True)
    live = await _live(ctx, account_id)
    if not free_slots(account_id, live, _max(ctx)):
        raise _full(ctx)
    _check_budget(ctx, live, size)
    return account


async def add_document(
    ctx: Context,
    principal: Principal,
    account_id: str,
    title: str,
    filename: str,
    source: BinaryIO,
    size: int,
) -> LibraryDocument:
    account = await may_add(ctx, principal, account_id, size)
    title = check_title(title)
    document_id = str(uuid.uuid4())
    file = await _store(ctx, principal, account_id, document_id, filename, source, size)
    async with discarded_if_refused(ctx, file.file_id):
        live = await _live(ctx, account_id)
        _check_budget(ctx, live, file.size)  # the size stored: a declared one may lie
        recipients = await audience(ctx, account, NOTICE)
        for slot in free_slots(account_id, live, _max(ctx)):
            document = LibraryDocument.start(document_id, account_id, title, file, slot)
            event = document.changed("added", account, _by(principal), file.uploaded_at, recipients)
            try:
                await ctx.library.add(document, event)
                return document
            except Duplicate:  # another upload took the slot first
                continue
        raise _full(ctx)


async def may_replace(
    ctx: Context, principal: Principal, account_id: str, document_id: str, size: int = 1
) -> tuple[Account, LibraryDocument]:
    """Refuse before the body is read: only an administrator, a submitted account that was not
    rejected, a live document of this account, and room for ``size`` more bytes less those of
    the version the new one would drop (checked again once the file is stored)."""
    account = await _writable(ctx, principal, account_id, new_content=True)
    document = await _document(ctx, account_id, document_id)
    document.check_live()
    _check_budget(ctx, await _live(ctx, account_id), size, document.beyond(_kept(ctx)))
    return account, document


async def replace_document(
    ctx: Context,
    principal: Principal,
    account_id: str,
    document_id: str,
    filename: str,
    source: BinaryIO,
    size: int,
) -> LibraryDocument:
    """A new version; the oldest beyond ``LIBRARY_VERSIONS_KEPT`` go once it is saved."""
    account, _ = await may_replace(ctx, principal, account_id, document_id, size)
    file = await _store(ctx, principal, account_id, document_id, filename, source, size)
    dropped: list[LibraryVersion] = []
    async with discarded_if_refused(ctx, file.file_id):
        current = await _document(ctx, account_id, document_id)
        _check_budget(ctx, await _live(ctx, account_id), file.size, current.beyond(_kept(ctx)))
        recipients = await audience(ctx, account, NOTICE)

        def add(document: LibraryDocument) -> list[Event]:
            dropped[:] = document.add_version(file, _kept(ctx))
            at = file.uploaded_at
            return [document.changed("replaced", account, _by(principal), at, recipients)]

        saved = await ctx.library.change(document_id, add, NO_SUCH_DOCUMENT)
    for version in dropped:
        await ctx.files.delete_file(version.file_id)
    return saved


async def remove_document(
    ctx: Context, principal: Principal, account_id: str, document_id: str
) -> None:
    """Marked removed (kept, with its history, for the administrators); every version's
    content is deleted once that is saved."""
    account = await _writable(ctx, principal, account_id, new_content=False)
    (await _document(ctx, account_id, document_id)).check_live()
    recipients = await audience(ctx, account, NOTICE)
    gone: list[LibraryVersion] = []

    def remove(document: LibraryDocument) -> list[Event]:
        at = now()
        gone[:] = document.remove(_by(principal), at)
        return [document.changed("removed", account, _by(principal), at, recipients)]

    await ctx.library.change(document_id, remove, NO_SUCH_DOCUMENT)
    for version in gone:
        await ctx.files.delete_file(version.file_id)


async def list_documents(
    ctx: Context, principal: Principal, account_id: str
) -> tuple[list[LibraryDocument], str]:
    """The live documents, newest change first, and as whom the caller reads them (``member``
    or ``buyer``)."""
    account = await account_or_404(ctx, account_id)
    reader = await _reader(ctx, principal, account, library_doc())
    found = await _live(ctx, account_id)
    return sorted(found, key=lambda d: d.updated_at, reverse=True), reader


async def audit_documents(
    ctx: Context, principal: Principal, account_id: str, page: int, size: int
) -> tuple[list[LibraryDocument], int]:
    """Every document the library keeps, the removed ones too (for
    ``LIBRARY_REMOVED_RETENTION_DAYS`` after their removal), newest change first: one page,
    and how many in all. Administrators only."""
    account = await account_or_404(ctx, account_id)
    if not account.administers(str(principal.user_id)):
        raise Refused("only the account's administrators see its removed documents")
    return await ctx.library.page(account_id, page, size)


async def read_document(
    ctx: Context, principal: Principal, account_id: str, document_id: str
) -> tuple[LibraryDocument, str]:
    """One document with its kept versions (a removed one: for administrators only)."""
    account = await account_or_404(ctx, account_id)
    reader = await _reader(ctx, principal, account, library_doc(document_id))
    document = await _document(ctx, account_id, document_id)
    if document.removed and not account.administers(str(principal.user_id)):
        raise NotFound(NO_SUCH_DOCUMENT)
    return document, reader


async def open_version(
    ctx: Context,
    principal: Principal,
    account_id: str,
    document_id: str,
    number: int | None = None,
) -> LibraryVersion:
    """A kept version (the current one by default) of a live document, for a reader entitled
    to it: outside the account, the current one only (a version replaced to take something
    out must not stay readable by every buyer). A read from outside the account is recorded,
    for its administrators to see."""
    account = await account_or_404(ctx, account_id)
    doc_type = library_doc(document_id)
    reader = await _reader(ctx, principal, account, doc_type)
    document = await _document(ctx, account_id, document_id)
    document.check_live()
    if reader != "member" and number not in (None, document.current.version):
        raise NotFound(
            f"the document has no version {number} you may read: outside the account, only "
            "its current version"
        )
    version = document.current if number is None else document.kept(number)
    if reader != "member":
        await ctx.document_reads.record(account_id, doc_type, _by(principal), reader, now())
    return version


async def describe(
    ctx: Context, documents: list[LibraryDocument], reader: str, *, history: bool = False
) -> list[dict[str, Any]]:
    """Documents as their readers see them: the current version, and with ``history`` every
    kept one, newest first (``versions_count``: how many). Older versions and who uploaded
    and removed them (user ids and names) only for the account's members: a buyer reading a
    supplier's library sees its current versions and learns nothing of its staff."""
    member = reader == "member"
    ids = {v.uploaded_by for d in documents for v in d.versions} if member else set()
    names = {u: v.get("full_name", "") for u, v in (await ctx.users.get_many(ids)).items()}

    def version(v: LibraryVersion) -> dict[str, Any]:
        seen = v.model_dump(exclude={"file_id", "uploaded_by"})
        if member:
            seen |= {"uploaded_by": v.uploaded_by, "uploaded_by_name": names.get(v.uploaded_by)}
        return seen

    def one(d: LibraryDocument) -> dict[str, Any]:
        shown = d.versions if member else [d.current]
        seen: dict[str, Any] = {
            "document_id": d.id,
            "title": d.title,
            "current": version(d.current),
            "versions_count": len(shown),
            "created_at": d.created_at,
            "updated_at": d.updated_at,
            "removed": d.removed,
        }
        if member:
            seen |= {"created_by": d.created_by, "removed_by": d.removed_by}
            seen["removed_at"] = d.removed_at
        if history:
            seen["versions"] = [version(v) for v in reversed(shown)]
        return seen

    return [one(d) for d in documents]


async def _reader(ctx: Context, principal: Principal, account: Account, doc_type: str) -> str:
    reader = await may_read(ctx, principal, account, doc_type)
    if reader is None:
        raise Refused(READERS)
    return reader


async def _writable(
    ctx: Context, principal: Principal, account_id: str, *, new_content: bool
) -> Account:
    """The account, if the caller administers it and it takes this change: none once
    rejected, no new content while a draft (what a draft held before it had no library may
    still be removed)."""
    account = await require_admin(ctx, account_id, principal)
    if account.status == REJECTED:
        raise Conflict("the account was rejected: its library takes no changes")
    if new_content and account.status == DRAFT:
        raise Conflict(NOT_YET)
    return account


async def _document(ctx: Context, account_id: str, document_id: str) -> LibraryDocument:
    """The document, if it is this account's (another account's is as unknown as none)."""
    document = await ctx.library.get(document_id)
    if document is None or document.account_id != account_id:
        raise NotFound(NO_SUCH_DOCUMENT)
    return document


async def _live(ctx: Context, account_id: str) -> list[LibraryDocument]:
    return await ctx.library.find(limit=LIST_LIMIT, account_id=account_id, removed=False)


async def _store(
    ctx: Context,
    principal: Principal,
    account_id: str,
    document_id: str,
    filename: str,
    source: BinaryIO,
    size: int,
) -> StoredFile:
    metadata: dict[str, Any] = {"account_id": account_id, "library_id": document_id}
    stored = await store_file(ctx, principal, filename, source, size, metadata)
    return StoredFile(
        file_id=stored.document_id,
        **stored.model_dump(exclude={"document_id"}),
    )


def _max(ctx: Context) -> int:
    return ctx.settings.library_max_documents


def _kept(ctx: Context) -> int:
    return ctx.settings.library_versions_kept


def _check_budget(
    ctx: Context, live: list[LibraryDocument], size: int, freed: Sequence[LibraryVersion] = ()
) -> None:
    """Refuse ``size`` more bytes (less those ``freed``) beyond ``LIBRARY_MAX_BYTES``."""
    budget, used = ctx.settings.library_max_bytes, bytes_kept(live)
    if used - sum(v.size for v in freed) + size > budget:
        raise Conflict(
            f"this file would pass the library's budget of {budget} bytes, of which {used} are "
            "used by the kept versions of its documents: remove documents (their old versions "
            "go with them) to make room"
        )


def _full(ctx: Context) -> Conflict:
    return Conflict(
        f"the library holds {_max(ctx)} documents, the most it may: remove one before adding"
    )


def _by(principal: Principal) -> str:
    return str(principal.user_id)
