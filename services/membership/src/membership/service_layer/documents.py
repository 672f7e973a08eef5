"""Uploading and downloading an account's documents.

Everything that can refuse a file (who, account status, document type, extension, size,
content) is checked before anything is stored; the new content is then stored completely, and
only then does the account point at it (a change of the account, refused if it was submitted
meanwhile) and the replaced content go away. The new content goes again only when the change
was refused for certain (``discarded_if_refused``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

import filetype
from secop_contracts import Event
from secop_runtime.aggregates import Duplicate
from secop_runtime.auth import Principal
from secop_runtime.errors import DomainError, Invalid, NotFound, Refused, TooLarge

from membership.domain import documents as docs
from membership.domain.accounts import ACTIVE, Account
from membership.service_layer.common import account_or_404, missing, now, require_admin

if TYPE_CHECKING:
    from membership.service_layer.context import Context

SNIFF_BYTES = 8192
FILENAME_MAX = 255
#: Unicode categories a file name may not hold: control and format characters (bidirectional
#: overrides that disguise a name, zero-width ones), line and paragraph separators, and
#: surrogates. Names go into events and into emails to members.
_HIDDEN_IN_NAMES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
#: What refuses a change for certain: nothing of it was saved.
REFUSALS = (DomainError, Duplicate)


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.extension if kind else None


async def may_upload(ctx: Context, principal: Principal, account_id: str, doc_type: str) -> None:
    """Refuse before the body is read: only the administrator, only a document the account
    takes, only while it is editable."""
    account = await require_admin(ctx, account_id, principal)
    account.check_upload(doc_type)


async def upload_document(
    ctx: Context,
    principal: Principal,
    account_id: str,
    doc_type: str,
    filename: str,
    source: BinaryIO,
    size: int,
) -> dict[str, Any]:
    await may_upload(ctx, principal, account_id, doc_type)
    document = await store_file(
        ctx, principal, filename, source, size, {"account_id": account_id, "doc_type": doc_type}
    )
    file_id = document.document_id
    replaced: list[docs.StoredDocument | None] = [None]

    def attach(account: Account) -> list[Event]:
        replaced[0] = account.attach(doc_type, document)
        return []

    async with discarded_if_refused(ctx, file_id):
        await ctx.accounts.change(account_id, attach, missing(account_id))
    if replaced[0] is not None and replaced[0].document_id != file_id:
        await ctx.files.delete_file(replaced[0].document_id)
    return {"doc_type": doc_type, **document.model_dump()}


async def store_file(
    ctx: Context,
    principal: Principal,
    filename: str,
    source: BinaryIO,
    size: int,
    metadata: dict[str, Any],
) -> docs.StoredDocument:
    """Store a file the document rules accept (declared and actual size, type, content); the
    account's registration documents and its library (``service_layer.library``) share them.
    Nothing points at it yet: the caller does, or deletes it."""
    filename = check_filename(filename)
    limit = ctx.settings.document_max_bytes
    head = _acceptable(filename, source, size, limit)
    file_id, stored_size, sha256 = await ctx.files.upload(filename, source, metadata)
    if stored_size > limit:  # the declared size lied
        await ctx.files.delete_file(file_id)
        raise TooLarge(f"the file is larger than {limit} bytes")
    return docs.StoredDocument(
        document_id=file_id,
        filename=filename,
        content_type=filetype.guess_mime(head) or "application/octet-stream",
        size=stored_size,
        sha256=sha256,
        uploaded_at=now(),
        uploaded_by=str(principal.user_id),
    )


def check_filename(filename: str) -> str:
    """The file's name as kept: stripped, 1 to 255 characters, nothing hidden in it."""
    name = filename.strip()
    if not name:
        raise Invalid("the file has no name: send it with its file name", field="file")
    if len(name) > FILENAME_MAX:
        raise Invalid(
            f"the file's name has {len(name)} characters, more than {FILENAME_MAX}: rename it",
            field="file",
        )
    if any(unicodedata.category(c) in _HIDDEN_IN_NAMES for c in name):
        raise Invalid(
            "the file's name may not contain control or formatting characters: rename it",
            field="file",
        )
    return name


@asynccontextmanager
async def discarded_if_refused(ctx: Context, file_id: str) -> AsyncIterator[None]:
    """Delete the new file ``file_id`` if the change that would point at it is refused for
    certain (a ``DomainError``: ``NotFound``, ``Conflict``, ``Contended``, ``Invalid``...; or a
    ``Duplicate``). Any other failure (a lost acknowledgement, a cancelled request) may come
    after the change was saved: the file stays, for an orphan costs space where a current
    version pointing at deleted content costs the document."""
    try:
        yield
    except REFUSALS:
        await ctx.files.delete_file(file_id)
        raise


def _acceptable(filename: str, source: BinaryIO, size: int, limit: int) -> bytes:
    """The file's first bytes, if its declared size, its type and its content are acceptable."""
    if size > limit:
        raise TooLarge(f"the file is larger than {limit} bytes")
    ext = docs.check_extension(filename)
    head = source.read(SNIFF_BYTES)
    source.seek(0)
    docs.check_content(ext, sniff(head))
    return head


async def may_read(
    ctx: Context, principal: Principal, account: Account, doc_type: str
) -> str | None:
    """``member`` for the account's own members; else why an outsider may read it
    (``domain.documents.outside_reader``); None: they may not."""
    user_id = str(principal.user_id)
    if account.accepted(user_id):
        return "member"
    working = False
    if principal.has_role(docs.SUPPORT_AGENT):
        cases = await ctx.cases.find(account_id=account.id, status="open", assignee_id=user_id)
        working = any(c.worked_by(user_id) for c in cases)
    buyer = False
    if account.kind == "supplier" and account.status == ACTIVE:
        mine = await ctx.queries.of_member(user_id)
        buyer = any(a.kind == "entity" and a.status == ACTIVE and a.accepted(user_id) for a in mine)
    return docs.outside_reader(
        account.kind, account.status, doc_type, buyer=buyer, working_agent=working
    )


async def open_document(
    ctx: Context, principal: Principal, account_id: str, doc_type: str
) -> docs.StoredDocument:
    """The document for a reader entitled to it; a read from outside the account is recorded,
    for its administrators to see."""
    account = await account_or_404(ctx, account_id)
    reader = await may_read(ctx, principal, account, doc_type)
    if reader is None:
        raise Refused(
            "only the account's members may read its documents; members of active buyer "
            "entities may read an active supplier's (never a natural person's ID), and the "
            "desk agent assigned to an open case of the account its registration documents"
        )
    document = account.documents.get(doc_type)
    if document is None:
        raise NotFound(f"the account has no '{doc_type}' document")
    if reader != "member":
        await ctx.document_reads.record(account_id, doc_type, str(principal.user_id), reader, now())
    return document


async def reads_of(
    ctx: Context, principal: Principal, account_id: str, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """Who outside the account read its documents, newest first (administrators only)."""
    await require_admin(ctx, account_id, principal)
    items, total = await ctx.document_reads.page(account_id, page, size)
    views = await ctx.users.get_many(i["reader_id"] for i in items)
    return [
        {
            "doc_type": i["doc_type"],
            "reader_id": i["reader_id"],
            "reader_name": (views.get(i["reader_id"]) or {}).get("full_name", ""),
            "reader_as": i["reader_as"],
            "read_at": i["read_at"],
        }
        for i in items
    ], total
