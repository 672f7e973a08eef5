""" "Biblioteca de documentos": the account's own documents, with versions. Members read and
download; administrators add, upload new versions and remove. Members of an active buyer
entity read an active supplier's library (membership decides, and records each read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from portal.adapters.backend import ApiError
from portal.entrypoints.account_common import (
    download,
    file_refusal,
    membership,
    refusal,
    seg,
    signed_in,
)
from portal.entrypoints.web import checked_form, redirect, render, require_user, web
from portal.service_layer import account_forms as af
from portal.service_layer import account_names as names

router = APIRouter()
TITLE_MAX = 200
LIBRARY_REFUSED = {
    409: "La biblioteca no acepta cambios: la cuenta fue rechazada, o ya tiene el máximo de "
    "documentos (quite uno antes de agregar otro).",
    403: "Solo los administradores de la cuenta pueden cambiar su biblioteca.",
    404: "Ese documento ya no está en la biblioteca.",
}


async def _owner(request: Request, account_id: str) -> dict[str, Any]:
    """The account as this page needs it: its name and whether the person administers it (a
    reader from a buyer entity is no member: membership's desk refuses them)."""
    try:
        desk = await membership(request, "GET", f"/accounts/{seg(account_id)}/desk")
    except ApiError as error:
        if error.status != 403:
            raise
        return {"account_id": account_id, "legal_name": "", "administrator": False}
    return {**desk["account"], "administrator": desk["administrator"]}


@router.get("/cuentas/{account_id}/biblioteca", response_class=HTMLResponse)
async def library_page(request: Request, account_id: str) -> Response:
    require_user(request)
    return await _library(request, account_id)


async def _library(
    request: Request,
    account_id: str,
    errors: dict[str, str] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    owner = await _owner(request, account_id)
    documents = await membership(request, "GET", f"/accounts/{seg(account_id)}/library")
    return render(
        request,
        "accounts/library.html",
        status_code=status,
        title="Biblioteca de documentos",
        owner=owner,
        account_id=account_id,
        documents=documents,
        errors=errors or {},
        values=values or {},
        af=af,
        names=names,
        max_mb=web(request).settings.portal_upload_max_bytes // (1024 * 1024),
    )


def _file_problem(request: Request, file: Any) -> str | None:
    if not isinstance(file, UploadFile) or not file.filename:
        return "Elija el archivo."
    if file.size is not None and file.size > web(request).settings.portal_upload_max_bytes:
        return "El archivo es demasiado grande."
    return None


@router.post("/cuentas/{account_id}/biblioteca/agregar", response_class=HTMLResponse)
async def add(request: Request, account_id: str) -> Response:
    """ "Agregar documento": a title and a file. (Not posted to the library's own address: the
    upload script tells a stored upload from a refused one by the page it ends on.)"""
    back = f"/cuentas/{seg(account_id)}/biblioteca"
    signed_in(request, back)
    form = await checked_form(request, max_files=1, max_fields=2)
    title = str(form.get("title") or "").strip()
    file = form.get("file")
    errors = {}
    if not title or len(title) > TITLE_MAX:
        errors["title"] = f"Escriba un título de 1 a {TITLE_MAX} caracteres."
    if problem := _file_problem(request, file):
        errors["file"] = problem
    if errors:
        return await _library(request, account_id, errors, 400, {"title": title})
    assert isinstance(file, UploadFile)
    try:
        await membership(
            request,
            "POST",
            f"/accounts/{seg(account_id)}/library",
            data={"title": title},
            files={
                "file": (file.filename, file.file, file.content_type or "application/octet-stream")
            },
        )
    except ApiError as error:
        if error.status not in (403, 409, 413, 415, 422):
            raise
        found = af.field_errors(error) if error.status == 422 else {}
        message = file_refusal(error) if error.status in (413, 415) else None
        errors = found or {"file": message or refusal(error, LIBRARY_REFUSED)}
        return await _library(request, account_id, errors, error.status, {"title": title})
    return redirect(back, f"Documento agregado a la biblioteca: {title}.", request)


@router.get("/cuentas/{account_id}/biblioteca/{document_id}", response_class=HTMLResponse)
async def document_page(request: Request, account_id: str, document_id: str) -> Response:
    """A document and every version kept, each downloadable; a new version (administrators)."""
    require_user(request)
    return await _document(request, account_id, document_id)


async def _document(
    request: Request,
    account_id: str,
    document_id: str,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    owner = await _owner(request, account_id)
    path = f"/accounts/{seg(account_id)}/library/{seg(document_id)}"
    document = await membership(request, "GET", path)
    return render(
        request,
        "accounts/library_document.html",
        status_code=status,
        title=document["title"],
        owner=owner,
        account_id=account_id,
        document=document,
        errors=errors or {},
        af=af,
        names=names,
        max_mb=web(request).settings.portal_upload_max_bytes // (1024 * 1024),
    )


@router.post("/cuentas/{account_id}/biblioteca/{document_id}/version", response_class=HTMLResponse)
async def new_version(request: Request, account_id: str, document_id: str) -> Response:
    back = f"/cuentas/{seg(account_id)}/biblioteca/{seg(document_id)}"
    signed_in(request, back)
    form = await checked_form(request, max_files=1, max_fields=2)
    file = form.get("file")
    if problem := _file_problem(request, file):
        return await _document(request, account_id, document_id, {"file": problem}, 400)
    assert isinstance(file, UploadFile)
    try:
        await membership(
            request,
            "PUT",
            f"/accounts/{seg(account_id)}/library/{seg(document_id)}",
            files={
                "file": (file.filename, file.file, file.content_type or "application/octet-stream")
            },
        )
    except ApiError as error:
        if error.status not in (403, 409, 413, 415, 422):
            raise
        message = file_refusal(error) if error.status in (413, 415, 422) else None
        errors = {"file": message or refusal(error, LIBRARY_REFUSED)}
        return await _document(request, account_id, document_id, errors, error.status)
    return redirect(back, "Nueva versión cargada.", request)


@router.post("/cuentas/{account_id}/biblioteca/{document_id}/quitar")
async def remove(request: Request, account_id: str, document_id: str) -> Response:
    """Every version's content goes; the document's history stays for the administrators."""
    back = f"/cuentas/{seg(account_id)}/biblioteca"
    signed_in(request, back)
    await checked_form(request)
    path = f"/accounts/{seg(account_id)}/library/{seg(document_id)}"
    try:
        await membership(request, "DELETE", path)
    except ApiError as error:
        if error.status not in (403, 404, 409):
            raise
        return await _library(
            request, account_id, {"_": refusal(error, LIBRARY_REFUSED)}, error.status
        )
    return redirect(back, "Documento quitado de la biblioteca.", request)


@router.get("/cuentas/{account_id}/biblioteca/{document_id}/descargar")
async def download_current(request: Request, account_id: str, document_id: str) -> Response:
    require_user(request)
    path = f"/accounts/{seg(account_id)}/library/{seg(document_id)}/content"
    return await download(request, path)


@router.get("/cuentas/{account_id}/biblioteca/{document_id}/versiones/{version}/descargar")
async def download_version(
    request: Request, account_id: str, document_id: str, version: str
) -> Response:
    require_user(request)
    path = f"/accounts/{seg(account_id)}/library/{seg(document_id)}/versions/{seg(version)}/content"
    return await download(request, path)
