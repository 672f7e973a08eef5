"""The home page, logging in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from secop_runtime.auth import TokenError

from portal.adapters.backend import ApiError
from portal.entrypoints.web import (
    caller,
    checked_form,
    redirect,
    remember_device,
    render,
    safe_next,
    session,
    start_session,
    web,
)
from portal.service_layer.session import Session, SignedIn

router = APIRouter()
LOGIN_FAILED = "El usuario o la contraseña no son correctos."


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/ingresar", response_class=HTMLResponse)
async def login_page(
    request: Request, siguiente: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return render(request, "login.html", next_url=safe_next(siguiente))


@router.post("/ingresar", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Registration checks the password (and its limits, by the person's address and device);
    the portal keeps the token it issues in the encrypted cookie, never in a page."""
    form = await checked_form(request)
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("siguiente") or ""))
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Escriba su usuario."
    if not password:
        errors["password"] = "Escriba su contraseña."  # noqa: S105 - a message, not a secret
    if errors:
        return _login_again(request, username, next_url, errors)
    w, who = web(request), caller(request)
    who.token = None
    response = await w.backend.request(
        "registration", "POST", "/sessions", who, json={"username": username, "password": password}
    )
    remember_device(request, who)
    if response.status_code != 200:
        return _login_again(request, username, next_url, {"_": _refusal(ApiError(response))})
    try:
        principal = w.tokens.verify(response.json()["access_token"])
    except (TokenError, KeyError, ValueError):
        return _login_again(request, username, next_url, {"_": "No fue posible ingresar."})
    fresh = Session(device=session(request).device)
    fresh.user = SignedIn(
        access_token=principal.token,
        expires_at=principal.expires_at,
        user_id=str(principal.user_id),
        username=principal.username,
        roles=sorted(principal.roles),
    )
    start_session(request, fresh)
    return redirect(next_url, f"Bienvenido(a), {principal.username}.", request)


def _refusal(error: ApiError) -> str:
    if error.status == 403 and error.body.get("reason") == "not_confirmed":
        return (
            "Su registro aún no está confirmado: siga el enlace del correo «Activación de su "
            "registro» o pida uno nuevo en «Confirmar registro»."
        )
    if error.status == 429:
        wait = f" (unos {error.retry_after} segundos)" if error.retry_after else ""
        return f"Demasiados intentos. Espere{wait} y vuelva a intentarlo."
    if error.status == 401:
        return LOGIN_FAILED
    return "No fue posible ingresar en este momento. Intente de nuevo en unos minutos."


def _login_again(
    request: Request, username: str, next_url: str, errors: dict[str, str]
) -> HTMLResponse:
    return render(
        request,
        "login.html",
        status_code=400 if "_" not in errors else 401,
        values={"username": username},
        errors=errors,
        next_url=next_url,
    )


@router.post("/salir")
async def logout(request: Request) -> Response:
    """The token is refused everywhere from now on (registration ends the session)."""
    await checked_form(request)
    s = session(request)
    if s.signed_in:
        who = caller(request)
        await web(request).backend.request("registration", "DELETE", "/sessions/current", who)
    start_session(request, Session(device=s.device))
    return redirect("/", "Salió de SECOP II.", request)
