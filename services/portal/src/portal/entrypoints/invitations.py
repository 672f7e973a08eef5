""" "Crear usuarios" (an administrator invites a person by name and email, with their roles;
resend, revoke) and the page the invitation email links to (``/AcceptInvitation?token=``).

The emailed link carries its token in the query, as membership issues it. The portal keeps it
out of every other URL: the first visit moves it into a short-lived, encrypted, HttpOnly
cookie scoped to this page and redirects to the bare page (so the token is not in the address
a person signs in and comes back to); the page posts it in a hidden field.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.backend import ApiError
from portal.entrypoints.account_common import membership, refusal, seg, signed_in
from portal.entrypoints.members import render_members
from portal.entrypoints.web import (
    ROLE_NAMES,
    checked_form,
    redirect,
    render,
    session,
    sign_in_url,
    web,
)
from portal.service_layer import account_forms as af

router = APIRouter()
PAGE = "/AcceptInvitation"
COOKIE = "secop_invitation"
COOKIE_LIFE_S = 3600  # long enough to sign in (or sign up and confirm) and come back
EMAIL_LIMIT = 320

INVITE_REFUSED = {
    403: "Solo los administradores de la cuenta pueden invitar.",
    409: "No se puede invitar ahora: la cuenta debe estar activa (una Entidad, activada por la "
    "Mesa de Servicio) y no puede tener demasiadas invitaciones pendientes.",
    429: "La cuenta o esa dirección recibieron hoy el máximo de correos de invitación. Intente "
    "mañana.",
    503: "Las invitaciones no están disponibles en este momento. Intente más tarde.",
}
RESEND_REFUSED = {
    409: "Esta invitación ya no se puede reenviar (fue aceptada o revocada, o ya se envió el "
    "máximo de veces: revóquela y cree una nueva).",
    429: "La invitación se envió hace un momento, o se agotaron los correos de invitación de hoy. "
    "Espere un poco y vuelva a intentarlo.",
    503: INVITE_REFUSED[503],
}
#: Why a link cannot be used (membership's ``reason``), and the other refusals of acceptance.
LINK_PROBLEMS = {
    "unknown": "Este enlace de invitación no es válido: puede que una invitación más reciente lo "
    "haya reemplazado. Use el enlace del correo más reciente.",
    "used": "Esta invitación ya fue usada.",
    "revoked": "Los administradores de la cuenta retiraron esta invitación.",
    "no_longer_valid": "Esta invitación ya no es válida: pida una nueva a los administradores "
    "de la cuenta.",
}
ACCEPT_REFUSED = {
    410: "La invitación venció: pida a los administradores de la cuenta que se la envíen de nuevo.",
    403: "Esta invitación se envió a otra dirección de correo: ingrese con el usuario registrado "
    "con la dirección invitada.",
    409: "No es posible unirse: ya es miembro de la cuenta, o la cuenta no recibe miembros ahora.",
}


# -- "Crear usuarios" ---------------------------------------------------------------------------
@router.post("/cuentas/{account_id}/invitaciones", response_class=HTMLResponse)
async def invite(request: Request, account_id: str) -> Response:
    back = f"/cuentas/{seg(account_id)}/usuarios"
    signed_in(request, back)
    form = await checked_form(request)
    name = str(form.get("name") or "").strip()
    email = str(form.get("email") or "").strip()
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    values = {"name": name, "email": email, **{f"role_{r}": True for r in roles}}
    errors = {}
    if not name:
        errors["name"] = "Escriba el nombre de la persona."
    if "@" not in email or len(email) > EMAIL_LIMIT:
        errors["email"] = "Escriba un correo válido."
    if not roles:
        errors["roles"] = "Elija al menos un rol."
    if errors:
        return await render_members(request, account_id, errors, 400, values)
    body = {"name": name, "email": email, "roles": roles}
    try:
        await membership(request, "POST", f"/accounts/{seg(account_id)}/invitations", json=body)
    except ApiError as error:
        if error.status == 422:
            return await render_members(request, account_id, af.field_errors(error), 422, values)
        if error.status not in (403, 409, 429, 503):
            raise
        return await render_members(
            request, account_id, {"_": _invite_refused(error)}, error.status, values
        )
    return redirect(back, f"Invitación enviada a {email}.", request)


def _invite_refused(error: ApiError) -> str:
    if error.status == 409 and error.body.get("status") == "accepted":
        return "Esa dirección ya es de un miembro de la cuenta."
    if error.status == 409 and error.body.get("status") == "pending":
        return "Esa persona ya pidió acceso: acepte su solicitud en la lista de usuarios."
    if error.status == 409 and error.body.get("invitation_id"):
        return "Ya hay una invitación pendiente para esa dirección: reenvíela desde la lista."
    return refusal(error, INVITE_REFUSED)


@router.post("/cuentas/{account_id}/invitaciones/{invitation_id}/reenviar")
async def resend(request: Request, account_id: str, invitation_id: str) -> Response:
    back = f"/cuentas/{seg(account_id)}/usuarios"
    signed_in(request, back)
    await checked_form(request)
    path = f"/accounts/{seg(account_id)}/invitations/{seg(invitation_id)}/resend"
    try:
        sent = await membership(request, "POST", path)
    except ApiError as error:
        if error.status not in (403, 404, 409, 429, 503):
            raise
        return await render_members(
            request, account_id, {"_": refusal(error, RESEND_REFUSED)}, error.status
        )
    return redirect(back, f"Invitación reenviada a {sent['email']}.", request)


@router.post("/cuentas/{account_id}/invitaciones/{invitation_id}/revocar")
async def revoke(request: Request, account_id: str, invitation_id: str) -> Response:
    back = f"/cuentas/{seg(account_id)}/usuarios"
    signed_in(request, back)
    await checked_form(request)
    path = f"/accounts/{seg(account_id)}/invitations/{seg(invitation_id)}"
    try:
        await membership(request, "DELETE", path)
    except ApiError as error:
        if error.status not in (403, 404, 409):
            raise
        message = refusal(error, {409: "Esta invitación ya no está pendiente."})
        return await render_members(request, account_id, {"_": message}, error.status)
    return redirect(back, "Invitación revocada: su enlace ya no sirve.", request)


# -- the page the invitation email links to -------------------------------------------------------
def _fernet(request: Request) -> Fernet:
    key = web(request).settings.portal_session_key.get_secret_value().encode()
    digest = hashlib.sha256(b"secop-portal-invitation\0" + key).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _kept_token(request: Request) -> str | None:
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        return None
    try:
        return _fernet(request).decrypt(sealed.encode(), ttl=COOKIE_LIFE_S).decode()
    except (InvalidToken, ValueError):
        return None


def _forget(request: Request, response: Response) -> Response:
    response.delete_cookie(
        COOKIE, path=PAGE, secure=web(request).settings.portal_secure_cookies, httponly=True
    )
    return response


@router.get(PAGE, response_class=HTMLResponse)
async def invitation_page(
    request: Request, token: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """Signed in: a button that accepts the invitation. Signed out: log in (or sign up with the
    invited address) first, then back here."""
    if token:
        response = redirect(PAGE)
        response.set_cookie(
            COOKIE,
            _fernet(request).encrypt(token.encode()).decode(),
            max_age=COOKIE_LIFE_S,
            path=PAGE,
            httponly=True,
            samesite="lax",
            secure=web(request).settings.portal_secure_cookies,
        )
        return response
    return _invitation(request, _kept_token(request))


def _invitation(
    request: Request, token: str | None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "accounts/invitation.html",
        status_code=status,
        title="Invitación a una cuenta de SECOP II",
        token=token,
        error=error,
        sign_in=sign_in_url(PAGE),
    )


@router.post(PAGE, response_class=HTMLResponse)
async def accept(request: Request) -> Response:
    signed_in(request, PAGE)
    form = await checked_form(request)
    token = str(form.get("token") or "")[:200]
    if not token:
        return _invitation(request, None, "Abra de nuevo el enlace del correo de invitación.", 400)
    try:
        joined = await membership(request, "POST", "/invitations/accept", json={"token": token})
    except ApiError as error:
        if error.status not in (400, 403, 409, 410, 422):
            raise
        message = LINK_PROBLEMS.get(str(error.body.get("reason")), LINK_PROBLEMS["unknown"])
        if error.status != 400:
            message = refusal(error, ACCEPT_REFUSED)
        page = _invitation(request, token if error.status == 403 else None, message, error.status)
        return page if error.status == 403 else _forget(request, page)
    roles = ", ".join(ROLE_NAMES.get(r, r) for r in joined["roles"])
    notice = f"Ya es miembro de {joined['account_name']} como {roles}."
    session(request).notice = notice
    return _forget(request, redirect(f"/cuentas/{seg(joined['account_id'])}"))
