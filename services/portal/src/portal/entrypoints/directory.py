"""The supplier directory ("Directorio de proveedores"): members of an active buyer entity look
up active suppliers, their commercial profiles and documents (downloaded through the portal;
membership records each read for the supplier's administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.backend import ApiError
from portal.entrypoints.account_common import download, membership, seg
from portal.entrypoints.web import render, require_user
from portal.service_layer import account_forms as af
from portal.service_layer import account_names as names

router = APIRouter()
ONLY_BUYERS = (
    "El directorio de proveedores es para los miembros de una Entidad Estatal activa. Si trabaja "
    "en una, solicite acceso a su cuenta en «Validar si mi entidad ya existe»."
)


@router.get("/proveedores", response_class=HTMLResponse)
async def directory_page(
    request: Request,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[str | None, Query(max_length=6)] = None,
) -> HTMLResponse:
    """By name or NIT, a page at a time."""
    require_user(request)
    number = int(page) if page and page.isdigit() and 0 < int(page) <= 10_000 else 1
    params: dict[str, str | int] = {"page": number}
    if q and q.strip():
        params["q"] = q.strip()
    try:
        found = await membership(request, "GET", "/directory/suppliers", params=params)
    except ApiError as error:
        if error.status not in (403, 422):
            raise
        message = ONLY_BUYERS if error.status == 403 else "Escriba un nombre o un NIT válido."
        return render(
            request,
            "accounts/directory.html",
            status_code=error.status,
            title="Directorio de proveedores",
            refused=message,
            q=q or "",
            found=None,
            af=af,
            names=names,
        )
    pages = max(1, -(-found["total"] // max(1, found["page_size"])))
    return render(
        request,
        "accounts/directory.html",
        title="Directorio de proveedores",
        refused=None,
        q=(q or "").strip(),
        found=found,
        pages=pages,
        af=af,
        names=names,
    )


@router.get("/proveedores/{account_id}/documentos/{doc_type}")
async def supplier_document(request: Request, account_id: str, doc_type: str) -> Response:
    require_user(request)
    return await download(request, f"/accounts/{seg(account_id)}/documents/{seg(doc_type)}")
