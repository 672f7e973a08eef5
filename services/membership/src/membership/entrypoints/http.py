"""HTTP routes for accounts and their documents (thin: they call the service layer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from secop_runtime.auth import CurrentUser, MaybeUser
from secop_runtime.errors import Invalid
from starlette.datastructures import UploadFile as StarletteUpload

from membership.entrypoints import desk, invitations, library, members
from membership.entrypoints.deps import Ctx
from membership.entrypoints.schemas import (
    AccountCreate,
    AccountCreated,
    AccountFields,
    AccountPublic,
    DocumentOut,
)
from membership.service_layer import accounts, documents, lifecycle, queries

accounts_router = APIRouter(tags=["accounts"])
E401 = {401: {"description": "missing, invalid or revoked token"}}
E403 = {403: {"description": "not allowed for this user"}}
E404 = {404: {"description": "no such account"}}
E409 = {409: {"description": "not in a state that allows it"}}


@accounts_router.get(
    "/accounts",
    summary="Validar si mi entidad ya existe",
    responses={401: {"description": "a token was sent and it is not valid"}},
)
async def search(
    ctx: Ctx,
    principal: MaybeUser,
    name: Annotated[str | None, Query(max_length=300)] = None,
    nit: Annotated[str | None, Query(max_length=30)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
) -> list[AccountPublic]:
    """Public search of active accounts: names match ignoring case, accents and punctuation;
    the NIT exactly. With a token, the user's own accounts show too, whatever their status."""
    found = await queries.search_accounts(ctx, name, nit, country, principal)
    return [AccountPublic(**a) for a in found]


@accounts_router.post(
    "/accounts",
    status_code=201,
    summary="Start an account (entity or supplier) as its administrator",
    responses={
        **E401,
        403: {"description": "user unknown here or not confirmed"},
        409: {"description": "the NIT already has a live account"},
    },
)
async def create(body: AccountCreate, principal: CurrentUser, ctx: Ctx) -> AccountCreated:
    """A confirmed user starts a draft; the legal name comes back normalised."""
    account = await accounts.create_account(ctx, principal, body.model_dump(exclude_none=True))
    return AccountCreated(
        account_id=account.id, status=account.status, legal_name=account.legal_name
    )


@accounts_router.get(
    "/accounts/{account_id}", summary="The account's form", responses={**E401, **E403, **E404}
)
async def read(account_id: str, principal: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """The whole account, with its documents' metadata, for its members."""
    return await queries.account_for_member(ctx, principal, account_id)


@accounts_router.patch(
    "/accounts/{account_id}",
    summary="Edit a draft (or an account sent back for changes)",
    responses={**E401, **E403, **E404, **E409},
)
async def edit(
    account_id: str, body: AccountFields, principal: CurrentUser, ctx: Ctx
) -> dict[str, Any]:
    """Only the given fields change; the rest of the draft stays as it was."""
    await accounts.edit_account(ctx, principal, account_id, body.model_dump(exclude_unset=True))
    return await queries.account_for_member(ctx, principal, account_id)


@accounts_router.post(
    "/accounts/{account_id}/submit",
    summary="Finalizar",
    responses={
        **E401,
        **E403,
        **E404,
        **E409,
        422: {"description": "every missing field and document"},
    },
)
async def submit(account_id: str, principal: CurrentUser, ctx: Ctx) -> AccountPublic:
    """A complete supplier becomes active; a complete entity waits for the service desk."""
    account = await lifecycle.submit_account(ctx, principal, account_id)
    return AccountPublic(**queries.public(account))


@accounts_router.delete(
    "/accounts/{account_id}",
    status_code=204,
    summary="Discard a draft (its documents go and its NIT is free again)",
    responses={**E401, **E403, **E404, 409: {"description": "not a draft"}},
)
async def discard(
    account_id: str,
    principal: CurrentUser,
    ctx: Ctx,
    case: Annotated[str | None, Query(max_length=40, description="Agents: the case")] = None,
) -> Response:
    """Administrators, drafts only; a service desk agent too, on a case (`?case=`), to
    release a NIT a stranger's draft holds. Drafts nobody touches for `DRAFT_TTL_DAYS` go by
    themselves; a user holds at most `MAX_DRAFTS_PER_USER` at once."""
    await accounts.discard_draft(ctx, principal, account_id, case)
    return Response(status_code=204)


#: The upload's body, described for OpenAPI: the route reads it itself, after authorisation.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The document; PDF preferred.",
                        }
                    },
                }
            }
        },
    }
}


@accounts_router.put(
    "/accounts/{account_id}/documents/{doc_type}",
    status_code=201,
    summary="Upload (or replace) one of the account's documents",
    responses={
        **E401,
        **E403,
        404: {"description": "no such account or document type"},
        **E409,
        413: {"description": "over the size limit"},
        415: {"description": "blocked type, or content not matching the extension"},
        422: {"description": "no multipart field 'file'"},
    },
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    account_id: str,
    doc_type: str,
    principal: CurrentUser,
    ctx: Ctx,
    request: Request,
) -> DocumentOut:
    """Multipart upload by an administrator; the previous version stays until this one is stored.

    Nothing of the body is read (or spooled to disk) before the caller is known to be the
    account's administrator and the account takes this document."""
    await documents.may_upload(ctx, principal, account_id, doc_type)
    async with request.form(max_files=1, max_fields=1) as form:
        file = form.get("file")
        if not isinstance(file, StarletteUpload):
            raise Invalid("send the document in the multipart field 'file'", field="file")
        size = file.size if file.size is not None else 0
        stored = await documents.upload_document(
            ctx, principal, account_id, doc_type, file.filename or "", file.file, size
        )
    return DocumentOut(**stored)


@accounts_router.get(
    "/accounts/{account_id}/document-reads",
    summary="Who outside the account read its documents",
    responses={**E401, **E403, **E404},
)
async def document_reads(
    account_id: str,
    principal: CurrentUser,
    ctx: Ctx,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Administrators only, newest first: every download by someone outside the account (a
    member of a buyer entity, or a desk agent reviewing it)."""
    items, total = await documents.reads_of(ctx, principal, account_id, page, size)
    return {"items": items, "page": page, "size": size, "total": total}


@accounts_router.get(
    "/accounts/{account_id}/documents/{doc_type}",
    summary="Download one of the account's documents",
    response_class=StreamingResponse,
    responses={**E401, **E403, **E404},
)
async def download(
    account_id: str, doc_type: str, principal: CurrentUser, ctx: Ctx
) -> StreamingResponse:
    """For the account's members; an active supplier's (not a natural person's ID) for members
    of active buyer entities; an entity's under review for desk agents. Reads from outside the
    account are recorded (`GET /accounts/{id}/document-reads`)."""
    d = await documents.open_document(ctx, principal, account_id, doc_type)
    content = ctx.files.stream(d.document_id)
    return library.attachment(content, d.filename, d.content_type, d.size, d.sha256)


router = APIRouter()
router.include_router(accounts_router)
router.include_router(members.router)
router.include_router(invitations.router)
router.include_router(desk.router)
router.include_router(library.router)
