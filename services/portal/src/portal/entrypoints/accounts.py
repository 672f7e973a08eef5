"""The accounts area: step 3 of sign-up ("Validar si mi entidad ya existe" and "Solicitar
acceso") here, and the area's router, which gathers its other pages: registering an account
(``account_form``), its desk and notices (``account_desk``), "Mis registros" and
"Administración de usuarios" (``members``), invitations (``invitations``), the document
library (``library``) and the supplier directory (``directory``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.backend import ApiError
from portal.entrypoints import (
    account_desk,
    account_form,
    directory,
    invitations,
    library,
    members,
)
from portal.entrypoints.account_common import membership, refusal, seg, signed_in
from portal.entrypoints.web import caller, checked_form, redirect, render, require_user, web
from portal.service_layer import account_forms as af
from portal.service_layer import account_names as names

pages = APIRouter()


# -- "Validar si mi entidad ya existe" -----------------------------------------------------------
@pages.get("/entidades/buscar", response_class=HTMLResponse)
async def search_page(
    request: Request,
    name: Annotated[str | None, Query(max_length=300)] = None,
    nit: Annotated[str | None, Query(max_length=30)] = None,
) -> HTMLResponse:
    """By name (ignoring case, accents and punctuation) or NIT; each result may be asked for
    access, and "Registrar Entidad" is offered when none is the person's. The first visit
    offers the name the person gave at sign-up."""
    require_user(request)
    if name is None and nit is None:
        return await _search(request, None, None, suggested=await _signed_up_for(request))
    return await _search(request, name, nit)


async def _signed_up_for(request: Request) -> str:
    """ "Nombre de la Entidad" from the person's sign-up (registration's profile), if any."""
    try:
        me = await web(request).backend.call("registration", "GET", "/users/me", caller(request))
    except ApiError as error:
        if error.status == 401:
            raise
        return ""
    return str(me.get("account_name") or "")


async def _search(
    request: Request,
    name: str | None,
    nit: str | None,
    errors: dict[str, str] | None = None,
    suggested: str = "",
) -> HTMLResponse:
    values = {"name": (name or suggested).strip(), "nit": (nit or "").strip()}
    errors = dict(errors or {})
    results: list[dict[str, Any]] | None = None
    searched = name is not None or nit is not None
    if searched and not errors:
        if not values["name"] and not values["nit"]:
            errors["name"] = "Escriba el nombre o el NIT de la Entidad."
        elif values["nit"] and not af.NIT.match(values["nit"]):
            errors["nit"] = "Escriba el NIT sin puntos, espacios ni dígito de verificación."
        else:
            params = {k: v for k, v in values.items() if v} | {"country": "CO"}
            try:
                results = await membership(request, "GET", "/accounts", params=params)
            except ApiError as error:
                if error.status != 422:
                    raise
                errors = af.field_errors(error)
    mine = await _my_memberships(request) if results else {}
    return render(
        request,
        "accounts/search.html",
        status_code=400 if errors else 200,
        title="Validar si mi entidad ya existe",
        values=values,
        errors=errors,
        results=results,
        mine=mine,
        af=af,
        names=names,
    )


async def _my_memberships(request: Request) -> dict[str, dict[str, Any]]:
    """The person's latest membership of each account (the list comes newest first)."""
    found: dict[str, dict[str, Any]] = {}
    for row in await membership(request, "GET", "/users/me/memberships"):
        found.setdefault(row["account_id"], row)
    return found


@pages.post("/entidades/{account_id}/solicitar-acceso")
async def request_access(request: Request, account_id: str) -> Response:
    """ "Solicitud de acceso": the request waits for the account's administrators."""
    signed_in(request, "/entidades/buscar")
    form = await checked_form(request)
    name, nit = str(form.get("name") or ""), str(form.get("nit") or "")
    try:
        await membership(request, "POST", f"/accounts/{seg(account_id)}/access-requests")
    except ApiError as error:
        return await _search(request, name, nit, {"_": _access_refused(error)})
    return redirect(
        "/mis-registros",
        "Su solicitud de acceso fue enviada. Queda «Esperando aprobación» hasta que un "
        "administrador de la cuenta la acepte; recibirá un correo.",
        request,
    )


def _access_refused(error: ApiError) -> str:
    if error.status == 409 and error.body.get("status") == "pending":
        return "Ya pidió acceso a esta cuenta: su solicitud espera la aprobación del administrador."
    if error.status == 409 and error.body.get("status") == "accepted":
        return "Ya es miembro de esta cuenta."
    return refusal(
        error,
        {
            409: "Esta cuenta no recibe solicitudes de acceso (una persona natural es una cuenta "
            "de un solo usuario).",
            403: "Su usuario aún no está disponible aquí: intente de nuevo en unos segundos.",
            404: "No encontramos esa cuenta.",
        },
    )


#: The whole area, as ``pages.py`` includes it (``account_form`` declares ``/cuentas/nueva``
#: before ``/cuentas/{account_id}``).
router = APIRouter()
for area_router in (
    pages,
    account_form.router,
    account_desk.router,
    members.router,
    invitations.router,
    library.router,
    directory.router,
):
    router.include_router(area_router)
