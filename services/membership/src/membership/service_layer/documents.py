"""Uploading and downloading an account's documents.

Everything that can refuse a file (who, account status, document type, extension, size,
content) is checked before anything is stored; the new content is then stored completely, and
only then does the account point at it and the replaced content go away.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import filetype
from secop_runtime.auth import Principal
from secop_runtime.http import ApiError

from membership.domain import accounts as rules
from membership.domain import documents as docs
from membership.service_layer.common import Uow, now

SNIFF_BYTES = 8192


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.extension if kind else None


async def may_upload(uow: Uow, principal: Principal, account_id: str, doc_type: str) -> None:
    """Refuse before the body is read: only the administrator, only a document the account
    takes, only while it is editable."""
    account = await uow.require_admin(account_id, principal)
    _check_writable(account, doc_type)


async def upload_document(
    uow: Uow,
    principal: Principal,
    account_id: str,
    doc_type: str,
    filename: str,
    source: BinaryIO,
    size: int,
    max_bytes: int,
) -> dict[str, Any]:
    account = await uow.require_admin(account_id, principal)
    _check_writable(account, doc_type)
    if size > max_bytes:
        raise ApiError(413, f"the file is larger than {max_bytes} bytes")
    try:
        ext = docs.check_extension(filename)
        head = source.read(SNIFF_BYTES)
        source.seek(0)
        docs.check_content(ext, sniff(head))
    except docs.FileRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    content_type = filetype.guess_mime(head) or "application/octet-stream"
    file_id, stored_size, sha256 = await uow.documents.upload(
        filename, source, {"account_id": account_id, "doc_type": doc_type}
    )
    if stored_size > max_bytes:  # the declared size lied
        await uow.documents.delete_file(file_id)
        raise ApiError(413, f"the file is larger than {max_bytes} bytes")
    meta = {
        "document_id": file_id,
        "filename": filename,
        "content_type": content_type,
        "size": stored_size,
        "sha256": sha256,
        "uploaded_at": now(),
        "uploaded_by": str(principal.user_id),
    }
    try:
        async with uow.account_turn(account_id):
            account = await uow.account_or_404(account_id)
            _check_writable(account, doc_type)  # it may have been submitted meanwhile
            previous = await uow.documents.current(account_id, doc_type)
            await uow.documents.point_to(account_id, doc_type, meta)
            # An upload is a use of the draft: it does not expire meanwhile.
            await uow.accounts.update(account_id, {"$set": {"updated_at": meta["uploaded_at"]}})
    except BaseException:
        await uow.documents.delete_file(file_id)
        raise
    if previous and previous["document_id"] != file_id:
        await uow.documents.delete_file(previous["document_id"])
    return {"doc_type": doc_type, **meta}


def _check_writable(account: dict[str, Any], doc_type: str) -> None:
    allowed = docs.allowed_documents(account["kind"], account.get("organisation_type"))
    if doc_type not in allowed:
        raise ApiError(
            404,
            f"a {account['kind']} account has no document '{doc_type}'; "
            f"its documents are: {', '.join(sorted(allowed))}",
        )
    if account["status"] not in rules.EDITABLE:
        raise ApiError(409, f"the account is {account['status']}: its documents are fixed")


async def may_read(
    uow: Uow, principal: Principal, account: dict[str, Any], doc_type: str
) -> str | None:
    """``member`` for the account's own members; else why an outsider may read it
    (``domain.documents.outside_reader``); None: they may not."""
    user_id = str(principal.user_id)
    if await uow.memberships.accepted(account["_id"], user_id):
        return "member"
    agent = principal.has_role(docs.SUPPORT_AGENT)
    buyer = False
    if account["kind"] == "supplier" and account["status"] == rules.ACTIVE:
        mine = await uow.memberships.of_user(user_id, "accepted")
        others = await uow.accounts.get_many([m["account_id"] for m in mine])
        buyer = any(a["kind"] == "entity" and a["status"] == rules.ACTIVE for a in others.values())
    return docs.outside_reader(account, doc_type, buyer=buyer, agent=agent)


async def open_document(
    uow: Uow, principal: Principal, account_id: str, doc_type: str
) -> dict[str, Any]:
    """The document's metadata for a reader entitled to it; a read from outside the account is
    recorded, for its administrators to see."""
    account = await uow.account_or_404(account_id)
    reader = await may_read(uow, principal, account, doc_type)
    if reader is None:
        raise ApiError(
            403,
            "only the account's members may read its documents; members of active buyer "
            "entities may read an active supplier's (never a natural person's ID)",
        )
    meta = await uow.documents.current(account_id, doc_type)
    if meta is None:
        raise ApiError(404, f"the account has no '{doc_type}' document")
    if reader != "member":
        await uow.document_reads.record(account_id, doc_type, str(principal.user_id), reader, now())
    return meta


async def reads_of(
    uow: Uow, principal: Principal, account_id: str, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """Who outside the account read its documents, newest first (administrators only)."""
    await uow.require_admin(account_id, principal)
    items, total = await uow.document_reads.page(account_id, page, size)
    views = await uow.users.get_many(i["reader_id"] for i in items)
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
