"""The account's document library: administrators add, replace and remove; members read.

The file rules are the registration documents' (``documents.store_file``: type, sniffed
content, size), and so is the order: who, the account's status and the document are checked
before the body is read (``may_add``, ``may_replace``). A new version is stored completely
first; only then does the document point at it (a change of the document, with its event in the
same write); only after that is anything deleted (versions beyond ``LIBRARY_VERSIONS_KEPT``, or
every version of a removed document). A refused or failed change deletes the new file and
leaves what was stored as it was.

Outside the account, members of an active buyer entity read an active supplier's library
(``documents.may_read``, the registration documents' rule), each download recorded for the
supplier's administrators; nobody else does.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, BinaryIO

from secop_contracts import Event
from secop_runtime.aggregates import Duplicate
from secop_runtime.auth import Principal
from secop_runtime.errors import Conflict, NotFound, Refused

from membership.domain.accounts import REJECTED, Account
from membership.domain.documents import library_doc
from membership.domain.library import (
    LibraryDocument,
    LibraryVersion,
    StoredFile,
    check_title,
    free_slots,
)
from membership.service_layer.common import account_or_404, audience, now, require_admin
from membership.service_layer.documents import may_read, store_file

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


async def may_add(ctx: Context, principal: Principal, account_id: str) -> Account:
    """Refuse before the body is read: only an administrator, not a rejected account, and not
    a full library (checked again, race-free, when the document takes its slot)."""
    account = await _writable(ctx, principal, account_id)
    if not free_slots(account_id, await _live(ctx, account_id), _max(ctx)):
        raise _full(ctx)
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
    account = await may_add(ctx, principal, account_id)
    title = check_title(title)
    document_id = str(uuid.uuid4())
    file = await _store(ctx, principal, account_id, document_id, filename, source, size)
    try:
        recipients = await audience(ctx, account, NOTICE)
        for slot in free_slots(account_id, await _live(ctx, account_id), _max(ctx)):
            document = LibraryDocument.start(document_id, account_id, title, file, slot)
            event = document.changed("added", account, _by(principal), file.uploaded_at, recipients)
            try:
                await ctx.library.add(document, event)
                return document
            except Duplicate:  # another upload took the slot first
                continue
        raise _full(ctx)
    except BaseException:
        await ctx.files.delete_file(file.file_id)
        raise


async def may_replace(
    ctx: Context, principal: Principal, account_id: str, document_id: str
) -> tuple[Account, LibraryDocument]:
    """Refuse before the body is read: only an administrator, not a rejected account, and a
    live document of this account."""
    account = await _writable(ctx, principal, account_id)
    document = await _document(ctx, account_id, document_id)
    document.check_live()
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
    account, _ = await may_replace(ctx, principal, account_id, document_id)
    file = await _store(ctx, principal, account_id, document_id, filename, source, size)
    dropped: list[LibraryVersion] = []
    try:
        recipients = await audience(ctx, account, NOTICE)

        def add(document: LibraryDocument) -> list[Event]:
            dropped[:] = document.add_version(file, ctx.settings.library_versions_kept)
            at = file.uploaded_at
            return [document.changed("replaced", account, _by(principal), at, recipients)]

        saved = await ctx.library.change(document_id, add, NO_SUCH_DOCUMENT)
    except BaseException:
        await ctx.files.delete_file(file.file_id)
        raise
    for version in dropped:
        await ctx.files.delete_file(version.file_id)
    return saved


async def remove_document(
    ctx: Context, principal: Principal, account_id: str, document_id: str
) -> None:
    """Marked removed (kept, with its history, for the administrators); every version's
    content is deleted once that is saved."""
    account, _ = await may_replace(ctx, principal, account_id, document_id)
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
    ctx: Context, principal: Principal, account_id: str, removed: bool = False
) -> tuple[list[LibraryDocument], str]:
    """The live documents, newest change first, and as whom the caller reads them (``member``
    or ``buyer``); ``removed``: the removed ones too (administrators only)."""
    account = await account_or_404(ctx, account_id)
    reader = await _reader(ctx, principal, account, library_doc())
    if removed and not account.administers(str(principal.user_id)):
        raise Refused("only the account's administrators see its removed documents")
    if removed:
        found = await ctx.library.find(limit=LIST_LIMIT, account_id=account_id)
    else:
        found = await _live(ctx, account_id)
    return sorted(found, key=lambda d: d.updated_at, reverse=True), reader


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
    to it; a read from outside the account is recorded, for its administrators to see."""
    account = await account_or_404(ctx, account_id)
    doc_type = library_doc(document_id)
    reader = await _reader(ctx, principal, account, doc_type)
    document = await _document(ctx, account_id, document_id)
    document.check_live()
    version = document.current if number is None else document.kept(number)
    if reader != "member":
        await ctx.document_reads.record(account_id, doc_type, _by(principal), reader, now())
    return version


async def describe(
    ctx: Context, documents: list[LibraryDocument], reader: str, *, history: bool = False
) -> list[dict[str, Any]]:
    """Documents as their readers see them: the current version, and with ``history`` every
    kept one, newest first. Who uploaded and removed them (user ids and names) only for the
    account's members: a buyer reading a supplier's library learns nothing of its staff."""
    member = reader == "member"
    ids = {v.uploaded_by for d in documents for v in d.versions} if member else set()
    names = {u: v.get("full_name", "") for u, v in (await ctx.users.get_many(ids)).items()}

    def version(v: LibraryVersion) -> dict[str, Any]:
        seen = v.model_dump(exclude={"file_id", "uploaded_by"})
        if member:
            seen |= {"uploaded_by": v.uploaded_by, "uploaded_by_name": names.get(v.uploaded_by)}
        return seen

    def one(d: LibraryDocument) -> dict[str, Any]:
        seen: dict[str, Any] = {
            "document_id": d.id,
            "title": d.title,
            "current": version(d.current),
            "versions_count": len(d.versions),
            "created_at": d.created_at,
            "updated_at": d.updated_at,
            "removed": d.removed,
        }
        if member:
            seen |= {"created_by": d.created_by, "removed_by": d.removed_by}
            seen["removed_at"] = d.removed_at
        if history:
            seen["versions"] = [version(v) for v in reversed(d.versions)]
        return seen

    return [one(d) for d in documents]


async def _reader(ctx: Context, principal: Principal, account: Account, doc_type: str) -> str:
    reader = await may_read(ctx, principal, account, doc_type)
    if reader is None:
        raise Refused(READERS)
    return reader


async def _writable(ctx: Context, principal: Principal, account_id: str) -> Account:
    account = await require_admin(ctx, account_id, principal)
    if account.status == REJECTED:
        raise Conflict("the account was rejected: its library takes no changes")
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


def _full(ctx: Context) -> Conflict:
    return Conflict(
        f"the library holds {_max(ctx)} documents, the most it may: remove one before adding"
    )


def _by(principal: Principal) -> str:
    return str(principal.user_id)
