"""Registering an account: "Registrar Entidad" / "Registrar Proveedor", part 1 ("Generar
formulario") and part 2 with its documents, "Finalizar", and discarding a draft. Past that,
the account's page is its desk (``account_desk``).

The draft is membership's: ``POST /accounts`` starts it with the kind, name and NIT, each visit
of ``/cuentas/{id}`` shows what is stored and every save is a ``PATCH``; so a person may leave
and come back, and "Finalizar" (``POST /accounts/{id}/submit``) lists what is still missing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from portal.adapters.backend import ApiError
from portal.entrypoints import account_desk
from portal.entrypoints.account_common import (
    FILE_REFUSED,
    download,
    file_refusal,
    membership,
    seg,
    signed_in,
)
from portal.entrypoints.web import checked_form, redirect, render, require_user, web
from portal.service_layer import account_forms as af
from portal.service_layer import account_names as names

router = APIRouter()
EDITABLE = frozenset({"draft", "changes_requested"})
NOT_EDITABLE = "La cuenta ya no es un borrador: su formulario no cambia."


# -- "Registrar Entidad": part 1 ("Generar formulario") --------------------------------------------
@router.get("/cuentas/nueva", response_class=HTMLResponse)
async def new_page(
    request: Request,
    name: Annotated[str | None, Query(max_length=300)] = None,
    nit: Annotated[str | None, Query(max_length=30)] = None,
) -> HTMLResponse:
    require_user(request)
    values = {"legal_name": name or "", "nit": nit or "", "country": "CO", "document_type": "NIT"}
    return _new(request, values, {})


def _new(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200, **ctx: Any
) -> HTMLResponse:
    return render(
        request,
        "accounts/new.html",
        status_code=status,
        title="Registrar Entidad",
        values=values,
        errors=errors,
        labels=names.FIELD_LABELS,
        af=af,
        names=names,
        **ctx,
    )


@router.post("/cuentas/nueva", response_class=HTMLResponse)
async def create(request: Request) -> Response:
    """Starts the draft (membership keeps it) with what part 1 asks; the rest of the form
    follows on the account's page."""
    signed_in(request, "/cuentas/nueva")
    form = await checked_form(request)
    values = {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}
    kind = values.get("kind", "")
    errors = _part_one_errors(values)
    if errors:
        return _new(request, values, errors, 400)
    body = {
        "kind": kind,
        "legal_name": values["legal_name"],
        "nit": values["nit"],
        "country": values.get("country") or "CO",
        "document_type": values.get("document_type") or "NIT",
        "business_area": values.get("business_area") or None,
        "organisation_type": values.get("organisation_type") or None,
    }
    try:
        created = await membership(request, "POST", "/accounts", json=body)
    except ApiError as error:
        if error.status in (409, 422):
            existing = error.body.get("account_id") if error.status == 409 else None
            return _new(request, values, af.field_errors(error), error.status, existing=existing)
        if error.status == 403:
            wait = "Su usuario aún no está disponible aquí: intente de nuevo en unos segundos."
            return _new(request, values, {"_": wait}, 403)
        raise
    return redirect(
        f"/cuentas/{created['account_id']}",
        "Borrador creado. Complete el formulario y anexe los documentos: el borrador se guarda "
        "y puede volver cuando quiera.",
        request,
    )


def _part_one_errors(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    kind = values.get("kind", "")
    if kind not in names.KIND_NAMES:
        errors["kind"] = "Elija si registra una Entidad Estatal o un Proveedor."
    if not values.get("legal_name"):
        errors["legal_name"] = "Escriba el nombre de la Entidad."
    if not af.NIT.match(values.get("nit", "")):
        errors["nit"] = (
            "Escriba el NIT sin puntos, espacios ni dígito de verificación (5 a 15 dígitos)."
        )
    org = values.get("organisation_type")
    if kind in names.KIND_NAMES and org and org not in af.organisation_types(kind):
        errors["organisation_type"] = (
            f"Elija un tipo de organización de {names.KIND_NAMES[kind]}: los de la otra lista no "
            "corresponden."
        )
    if kind == "supplier" and values.get("business_area") not in (None, "", "private"):
        errors["business_area"] = "El área de negocio de un Proveedor es «Privado»."
    return errors


# -- the account's page: its draft form, or its desk ---------------------------------------------
@router.get("/cuentas/{account_id}", response_class=HTMLResponse)
async def account_page(request: Request, account_id: str) -> Response:
    """An administrator of a draft (or of an account sent back for changes) edits its form;
    everyone else, and every account past that, sees its desk."""
    require_user(request)
    desk = await membership(request, "GET", f"/accounts/{seg(account_id)}/desk")
    account = await membership(request, "GET", f"/accounts/{seg(account_id)}")
    if desk["account"]["status"] in EDITABLE and desk["administrator"]:
        return _form(request, account, af.account_to_values(account), {})
    return account_desk.render_desk(request, desk, account)


def _form(
    request: Request,
    account: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    missing: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "accounts/form.html",
        status_code=status,
        title=f"Registrar {names.KIND_NAMES.get(account['kind'], 'cuenta')}",
        account=account,
        values=values,
        errors=errors,
        missing=missing or [],
        labels=af.labels(),
        documents=af.documents_for(account),
        af=af,
        names=names,
        max_mb=web(request).settings.portal_upload_max_bytes // (1024 * 1024),
    )


@router.post("/cuentas/{account_id}", response_class=HTMLResponse)
async def save(request: Request, account_id: str) -> Response:
    """ "Guardar borrador": every field as the page shows it."""
    signed_in(request, f"/cuentas/{seg(account_id)}")
    form = await checked_form(request)
    account, refused = await _save(request, account_id, form)
    if refused is not None:
        return refused
    return redirect(f"/cuentas/{account['account_id']}", "Borrador guardado.", request)


async def _save(
    request: Request, account_id: str, form: FormData
) -> tuple[dict[str, Any], HTMLResponse | None]:
    """The draft saved from the posted form; with errors, the form again beside them.

    What is right is saved even when something else is not (the fields refused are left as
    they were): the draft keeps all it can, and a person who uploads a document next, or
    leaves, loses nothing but the mistakes."""
    path = f"/accounts/{seg(account_id)}"
    account = await membership(request, "GET", path)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    body, errors = af.form_to_fields(account["kind"], form)
    if account["kind"] == "entity" and (parent := af.typed(form, "parent_nit")):
        if parent_id := await _entity_by_nit(request, parent):
            body["parent_account_id"] = parent_id
        elif "parent_nit" not in errors:
            errors["parent_nit"] = "No encontramos una Entidad Estatal activa con ese NIT."
    body = af.without(body, errors)
    for _ in range(2):  # membership's refusals dropped once: the rest is saved
        try:
            account = await membership(request, "PATCH", path, json=body)
            break
        except ApiError as error:
            if error.status == 409:
                return account, _form(request, account, values, {"_": NOT_EDITABLE}, 409)
            if error.status != 422:
                raise
            errors |= af.field_errors(error)
            body = af.without(body, error.fields)
    if errors:
        return account, _form(request, account, values, errors, 422)
    return account, None


async def _entity_by_nit(request: Request, nit: str) -> str | None:
    found = await membership(request, "GET", "/accounts", params={"nit": nit})
    return next((a["account_id"] for a in found if a["kind"] == "entity"), None)


@router.post("/cuentas/{account_id}/finalizar", response_class=HTMLResponse)
async def submit(request: Request, account_id: str) -> Response:
    """ "Finalizar": the form is saved as shown, then submitted; what is missing comes back as
    one list, each item linked to its field or document."""
    signed_in(request, f"/cuentas/{seg(account_id)}")
    form = await checked_form(request)
    account, refused = await _save(request, account_id, form)
    if refused is not None:
        return refused
    try:
        done = await membership(request, "POST", f"/accounts/{seg(account_id)}/submit")
    except ApiError as error:
        if error.status == 422:
            missing = af.missing_items(error)
            errors = {item["field"]: item["message"] for item in missing}
            values = af.account_to_values(account)
            return _form(request, account, values, errors, 422, missing)
        if error.status == 409:
            return _form(request, account, af.account_to_values(account), {"_": NOT_EDITABLE}, 409)
        raise
    if done["status"] == "active":
        notice = f"¡Listo! La cuenta de Proveedor {done['legal_name']} quedó activa."
    else:
        notice = (
            f"La Entidad {done['legal_name']} quedó registrada y espera la activación de la Mesa "
            "de Servicio, que revisará sus documentos. Le avisaremos por correo."
        )
    return redirect(f"/cuentas/{done['account_id']}", notice, request)


@router.post("/cuentas/{account_id}/documentos/{doc_type}", response_class=HTMLResponse)
async def upload(request: Request, account_id: str, doc_type: str) -> Response:
    """ "Anexar documento": the file goes to membership as the browser sent it (its checks:
    size, blocked types, content matching the extension)."""
    limit = web(request).settings.portal_upload_max_bytes
    signed_in(request, f"/cuentas/{seg(account_id)}")
    form = await checked_form(request, max_files=1, max_fields=2)
    file = form.get("file")
    field = f"documents.{doc_type}"
    problem = None
    if not isinstance(file, UploadFile) or not file.filename:
        problem = "Elija el archivo que va a anexar."
    elif file.size is not None and file.size > limit:
        problem = FILE_REFUSED[413]
    else:
        try:
            await membership(
                request,
                "PUT",
                f"/accounts/{seg(account_id)}/documents/{seg(doc_type)}",
                files={
                    "file": (
                        file.filename,
                        file.file,
                        file.content_type or "application/octet-stream",
                    )
                },
            )
        except ApiError as error:
            if error.status not in (404, 409, 413, 415, 422):
                raise
            problem = file_refusal(error)
    if problem:
        account = await membership(request, "GET", f"/accounts/{seg(account_id)}")
        return _form(request, account, af.account_to_values(account), {field: problem}, 400)
    return redirect(
        f"/cuentas/{seg(account_id)}#documentos",
        f"Documento anexado: {af.document_label(doc_type)}.",
        request,
    )


@router.get("/cuentas/{account_id}/documentos/{doc_type}")
async def download_document(request: Request, account_id: str, doc_type: str) -> Response:
    require_user(request)
    return await download(request, f"/accounts/{seg(account_id)}/documents/{seg(doc_type)}")


@router.post("/cuentas/{account_id}/descartar")
async def discard(request: Request, account_id: str) -> Response:
    """ "Descartar borrador": its documents go and its NIT is free again."""
    signed_in(request, f"/cuentas/{seg(account_id)}")
    await checked_form(request)
    try:
        await membership(request, "DELETE", f"/accounts/{seg(account_id)}")
    except ApiError as error:
        if error.status != 409:
            raise
        return redirect(f"/cuentas/{seg(account_id)}", "Solo se descarta un borrador.", request)
    return redirect("/mis-registros", "Borrador descartado.", request)
