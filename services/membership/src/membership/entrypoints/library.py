"""HTTP routes for the account's document library ("Biblioteca de documentos")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from secop_runtime.auth import CurrentUser
from secop_runtime.errors import Invalid
from starlette.datastructures import UploadFile as StarletteUpload

from membership.domain.library import LibraryDocument
from membership.entrypoints.deps import Ctx
from membership.service_layer import library
from membership.service_layer.context import Context

router = APIRouter(tags=["library"])
#: The two uploads take the document's large body cap (the app's ``large_bodies``).
UPLOAD_ROUTES = (("POST", r"/accounts/[^/]+/library"), ("PUT", r"/accounts/[^/]+/library/[^/]+"))

E401 = {401: {"description": "missing, invalid or revoked token"}}
READ = {
    **E401,
    403: {
        "description": "not a member of the account (members of an active buyer entity read "
        "an active supplier's library)"
    },
    404: {"description": "no such account, or no such live document in its library"},
}
WRITE = {
    **E401,
    403: {"description": "not an administrator of the account"},
    404: {"description": "no such account, or no such live document in its library"},
}
FILE_REFUSALS = {
    413: {"description": "over the size limit (`DOCUMENT_MAX_BYTES`)"},
    415: {"description": "blocked type, or content not matching the extension"},
}
NO_ROOM = (
    "the account is a draft (the library opens once it is submitted) or was rejected, or the "
    "new content would pass `LIBRARY_MAX_BYTES`"
)
BAD_NAME = (
    "a file name that is empty, longer than 255 characters, or holds control or formatting "
    "characters"
)


class LibraryVersionOut(BaseModel):
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str | None = None
    uploaded_by_name: str | None = None


class LibraryDocumentOut(BaseModel):
    """A library document; older versions and who uploaded or removed it only for the
    account's members (`versions_count`: the versions the reader may see)."""

    document_id: str
    title: str
    current: LibraryVersionOut
    versions_count: int
    created_at: datetime
    updated_at: datetime
    removed: bool = False
    created_by: str | None = None
    removed_by: str | None = None
    removed_at: datetime | None = None
    versions: list[LibraryVersionOut] | None = None


def _multipart(title: bool) -> dict[str, Any]:
    """The upload's body, described for OpenAPI: the route reads it itself, after authorising."""
    fields: dict[str, Any] = {
        "file": {"type": "string", "format": "binary", "description": "PDF preferred."}
    }
    if title:
        fields = {"title": {"type": "string", "minLength": 1, "maxLength": 200}, **fields}
    schema = {"type": "object", "required": list(fields), "properties": fields}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


@router.get(
    "/accounts/{account_id}/library",
    summary="Biblioteca de documentos: the account's documents",
    responses={**READ, 403: {"description": READ[403]["description"] + "; `removed`: admins"}},
)
async def list_library(
    account_id: str,
    principal: CurrentUser,
    ctx: Ctx,
    response: Response,
    removed: Annotated[
        bool,
        Query(
            description="Administrators: the removed documents too, for audit (kept "
            "`LIBRARY_REMOVED_RETENTION_DAYS` after their removal), by page"
        ),
    ] = False,
    page: Annotated[int, Query(ge=1, le=10_000, description="With `removed` only")] = 1,
    size: Annotated[int, Query(ge=1, le=100, description="With `removed` only")] = 20,
) -> list[LibraryDocumentOut]:
    """The live documents with their current version, the most recently changed first (all
    of them: at most `LIBRARY_MAX_DOCUMENTS`). With `removed=true` every document kept, the
    removed ones too, one page of them, how many in all in `X-Total-Count`."""
    if removed:
        found, total = await library.audit_documents(ctx, principal, account_id, page, size)
        response.headers["X-Total-Count"] = str(total)
        reader = "member"
    else:
        found, reader = await library.list_documents(ctx, principal, account_id)
    return [LibraryDocumentOut(**d) for d in await library.describe(ctx, found, reader)]


@router.post(
    "/accounts/{account_id}/library",
    status_code=201,
    summary="Add a document to the account's library",
    responses={
        **WRITE,
        409: {"description": NO_ROOM + ", or its library holds `LIBRARY_MAX_DOCUMENTS`"},
        **FILE_REFUSALS,
        422: {
            "description": "no multipart field 'file', a title that is not 1-200 "
            "characters without control characters, or " + BAD_NAME
        },
    },
    openapi_extra=_multipart(title=True),
)
async def add(
    account_id: str, principal: CurrentUser, ctx: Ctx, request: Request
) -> LibraryDocumentOut:
    """Multipart `title` and `file`, by an administrator of a submitted account
    (`LIBRARY_MAX_DOCUMENTS` live at most, `LIBRARY_MAX_BYTES` in all their kept versions).

    Nothing of the body is read before the caller is known to administer the account and its
    library has room."""
    await library.may_add(ctx, principal, account_id)
    async with request.form(max_files=1, max_fields=1) as form:
        title = form.get("title")
        if not isinstance(title, str):
            raise Invalid("send the document's title in the multipart field 'title'", field="title")
        file = _file(form.get("file"))
        document = await library.add_document(
            ctx, principal, account_id, title, file.filename or "", file.file, file.size or 0
        )
    return await _one(ctx, document)


@router.put(
    "/accounts/{account_id}/library/{document_id}",
    status_code=201,
    summary="Upload a new version of a library document",
    responses={
        **WRITE,
        409: {"description": NO_ROOM},
        **FILE_REFUSALS,
        422: {"description": "no multipart field 'file', or " + BAD_NAME},
    },
    openapi_extra=_multipart(title=False),
)
async def replace(
    account_id: str, document_id: str, principal: CurrentUser, ctx: Ctx, request: Request
) -> LibraryDocumentOut:
    """Multipart `file`, by an administrator; the previous versions stay downloadable, up to
    `LIBRARY_VERSIONS_KEPT` (the oldest beyond go, content and metadata). Nothing of the body
    is read before the caller is known to administer the account."""
    await library.may_replace(ctx, principal, account_id, document_id)
    async with request.form(max_files=1, max_fields=1) as form:
        file = _file(form.get("file"))
        document = await library.replace_document(
            ctx, principal, account_id, document_id, file.filename or "", file.file, file.size or 0
        )
    return await _one(ctx, document)


@router.delete(
    "/accounts/{account_id}/library/{document_id}",
    status_code=204,
    summary="Remove a library document",
    responses={**WRITE, 409: {"description": "the account was rejected"}},
)
async def remove(account_id: str, document_id: str, principal: CurrentUser, ctx: Ctx) -> Response:
    """By an administrator: the contents of every version are deleted; the document and its
    history stay listed to administrators (`?removed=true`)."""
    await library.remove_document(ctx, principal, account_id, document_id)
    return Response(status_code=204)


@router.get(
    "/accounts/{account_id}/library/{document_id}",
    summary="A library document and its version history",
    responses=READ,
)
async def read(
    account_id: str, document_id: str, principal: CurrentUser, ctx: Ctx
) -> LibraryDocumentOut:
    """Every kept version, newest first: when, size, checksum, and (to members) who; outside
    the account the current version only. A removed document: to administrators only."""
    document, reader = await library.read_document(ctx, principal, account_id, document_id)
    [seen] = await library.describe(ctx, [document], reader, history=True)
    return LibraryDocumentOut(**seen)


@router.get(
    "/accounts/{account_id}/library/{document_id}/content",
    summary="Download a library document (its current version)",
    response_class=StreamingResponse,
    responses=READ,
)
async def download(
    account_id: str, document_id: str, principal: CurrentUser, ctx: Ctx
) -> StreamingResponse:
    """For the account's members; an active supplier's for members of active buyer entities,
    each such read recorded (`GET /accounts/{id}/document-reads`, `library:<id>`)."""
    v = await library.open_version(ctx, principal, account_id, document_id)
    return attachment(ctx.files.stream(v.file_id), v.filename, v.content_type, v.size, v.sha256)


@router.get(
    "/accounts/{account_id}/library/{document_id}/versions/{version}/content",
    summary="Download a kept version of a library document",
    response_class=StreamingResponse,
    responses={
        **READ,
        404: {
            "description": READ[404]["description"] + ", or version (outside the account: any "
            "but the current one)"
        },
    },
)
async def download_version(
    account_id: str,
    document_id: str,
    version: Annotated[int, Path(ge=1)],
    principal: CurrentUser,
    ctx: Ctx,
) -> StreamingResponse:
    """As the current version's download, for any version still kept; outside the account
    (members of an active buyer entity) for the current version only."""
    v = await library.open_version(ctx, principal, account_id, document_id, version)
    return attachment(ctx.files.stream(v.file_id), v.filename, v.content_type, v.size, v.sha256)


def attachment(
    content: AsyncIterator[bytes], filename: str, content_type: str, size: int, sha256: str
) -> StreamingResponse:
    """A stored file as a download: never rendered by the browser, its checksum in a header."""
    # Control characters (a multipart name may hold any but CR and LF) make the server refuse
    # the header, and the download fail for every reader.
    ascii_only = filename.encode("ascii", "ignore").decode()
    ascii_name = "".join(c for c in ascii_only if c.isprintable() and c != '"') or "document"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return StreamingResponse(
        content,
        media_type=content_type or "application/octet-stream",
        headers={
            "Content-Disposition": disposition,
            "Content-Length": str(size),
            "X-Content-Type-Options": "nosniff",
            "X-Document-SHA256": sha256,
        },
    )


def _file(value: Any) -> StarletteUpload:
    if not isinstance(value, StarletteUpload):
        raise Invalid("send the document in the multipart field 'file'", field="file")
    return value


async def _one(ctx: Context, document: LibraryDocument) -> LibraryDocumentOut:
    [seen] = await library.describe(ctx, [document], "member", history=True)
    return LibraryDocumentOut(**seen)
