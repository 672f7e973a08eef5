""" "Mis registros" and "Administración de usuarios": a person's memberships, and an
administrator's decisions on the account's members (accept with roles, reject with a reason,
cancel, revert a rejection, change roles)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.backend import ApiError
from portal.entrypoints.account_common import membership, refusal, seg, signed_in
from portal.entrypoints.web import ROLE_NAMES, checked_form, redirect, render, require_user
from portal.service_layer import account_forms as af
from portal.service_layer import account_names as names

router = APIRouter()

#: The page's action -> membership's route and how it is said once done.
ACTIONS = {
    "aceptar": ("accept", "Acceso aceptado"),
    "rechazar": ("reject", "Acceso rechazado"),
    "cancelar": ("cancel", "Acceso cancelado"),
    "revertir": ("revert-rejection", "Rechazo revertido: la solicitud espera de nuevo"),
    "roles": ("roles", "Roles actualizados"),
}
DECISION_REFUSED = {
    409: "No se puede en el estado actual de la solicitud, o la cuenta se quedaría sin "
    "administrador: nombre antes a otro administrador.",
    403: "Solo los administradores de la cuenta pueden hacer esto.",
    404: "No encontramos a esa persona en la cuenta.",
}


@router.get("/mis-registros", response_class=HTMLResponse)
async def my_memberships(request: Request) -> HTMLResponse:
    """Every membership of the person, newest request first, with its status."""
    require_user(request)
    rows = await membership(request, "GET", "/users/me/memberships")
    accepted = sorted({r["account_id"] for r in rows if r["status"] == "accepted"})
    forms = await asyncio.gather(*(_account_status(request, a) for a in accepted))
    statuses = dict(zip(accepted, forms, strict=True))
    return render(
        request,
        "accounts/my_memberships.html",
        title="Mis registros",
        rows=rows,
        statuses=statuses,
        af=af,
        names=names,
    )


async def _account_status(request: Request, account_id: str) -> str | None:
    """The account's own status (a member reads its form), for the person's accepted rows."""
    try:
        return (await membership(request, "GET", f"/accounts/{seg(account_id)}"))["status"]
    except ApiError as error:
        if error.status in (403, 404):
            return None
        raise


@router.get("/cuentas/{account_id}/usuarios", response_class=HTMLResponse)
async def members_page(request: Request, account_id: str) -> HTMLResponse:
    require_user(request)
    return await render_members(request, account_id)


async def render_members(
    request: Request,
    account_id: str,
    errors: dict[str, str] | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The members and their requests, the pending invitations and "Crear usuarios"."""
    path = f"/accounts/{seg(account_id)}"
    members = await membership(request, "GET", f"{path}/members")
    account = await membership(request, "GET", path)
    invitations = await membership(request, "GET", f"{path}/invitations")
    roles = af.roles_for(account["kind"], bool(account.get("mixed_profile")))
    return render(
        request,
        "accounts/members.html",
        status_code=status,
        title="Administración de usuarios",
        account=account,
        members=sorted(members, key=_order),
        invitations=invitations,
        roles=[(r, ROLE_NAMES.get(r, r)) for r in roles],
        member_role=next(r for r in roles if r != "administrator"),
        errors=errors or {},
        values=values or {},
        af=af,
        names=names,
        active=account.get("status") == "active",
        natural_person=account.get("organisation_type") == "natural_person",
    )


def _order(member: dict[str, Any]) -> tuple[int, str]:
    """Requests waiting for a decision first, then the members, then the rest."""
    rank = {"pending": 0, "accepted": 1, "rejected": 2, "cancelled": 3}
    return rank.get(member["status"], 4), member.get("full_name", "")


@router.post("/cuentas/{account_id}/usuarios/{user_id}/{action}", response_class=HTMLResponse)
async def decide(request: Request, account_id: str, user_id: str, action: str) -> Response:
    back = f"/cuentas/{seg(account_id)}/usuarios"
    signed_in(request, back)
    form = await checked_form(request)
    if action not in ACTIONS:
        return await render_members(request, account_id, {"_": "Esa acción no existe."}, 404)
    route, done = ACTIONS[action]
    path = f"/accounts/{seg(account_id)}/members/{seg(user_id)}/{route}"
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    reason = str(form.get("reason") or "").strip()
    if action in ("aceptar", "roles") and not roles:
        return await render_members(
            request, account_id, {"_": "Elija al menos un rol para esta persona."}, 400
        )
    if len(reason) > 1000:
        return await render_members(
            request, account_id, {"_": "El motivo puede tener como máximo 1000 caracteres."}, 400
        )
    try:
        if action == "roles":
            member = await membership(request, "PUT", path, json={"roles": roles})
        elif action == "aceptar":
            member = await membership(request, "POST", path, json={"roles": roles})
        elif action == "rechazar":
            member = await membership(request, "POST", path, json={"reason": reason})
        else:
            member = await membership(request, "POST", path)
    except ApiError as error:
        if error.status not in (403, 404, 409, 422):
            raise
        message = _decision_refused(error)
        return await render_members(request, account_id, {"_": message}, error.status)
    return redirect(back, f"{done}: {member.get('full_name') or member.get('email')}.", request)


def _decision_refused(error: ApiError) -> str:
    if error.status == 409 and "administrator" in error.message:
        return (
            "La cuenta debe conservar al menos un administrador: nombre antes a otro administrador."
        )
    if error.status == 409 and error.body.get("status"):
        status = names.MEMBERSHIP_STATUS_NAMES.get(error.body["status"], error.body["status"])
        return f"No se puede en el estado actual de la solicitud ({status})."
    if error.status == 422:
        return "Elija roles que esta cuenta tenga."
    return refusal(error, DECISION_REFUSED)
