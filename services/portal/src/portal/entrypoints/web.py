"""What every page shares: the session cookie, CSRF, security headers, rendering, errors.

- The session is loaded from its cookie before the route and written back after it when it
  changed (``service_layer.session``); the cookie is HttpOnly, SameSite=Lax, and Secure unless
  ``PORTAL_SECURE_COOKIES=false`` (local http only).
- Every form carries the session's CSRF token (``csrf_token``) and is refused without it; a
  POST whose ``Origin`` is another site is refused too.
- No inline script or style anywhere: the Content-Security-Policy allows the portal's own
  files only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from secop_runtime.auth import TokenVerifier
from secop_runtime.clients import request_address
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from portal.adapters.backend import ApiError, Backend, Caller, Service
from portal.config import Settings
from portal.service_layer import dates
from portal.service_layer.session import COOKIE, Session, SessionCodec

TEMPLATES = Path(__file__).parent.parent / "templates"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SignInNeeded(Exception):
    """The page needs a signed-in person: they are sent to log in and brought back."""

    def __init__(self, back_to: str, notice: str | None = None) -> None:
        self.back_to, self.notice = back_to, notice


class FormRefused(Exception):
    """A form without this session's CSRF token, or posted from another site."""


@dataclass
class Web:
    settings: Settings
    codec: SessionCodec
    backend: Backend
    templates: Jinja2Templates
    tokens: TokenVerifier


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.filters["fecha"] = dates.fecha
    env.filters["fecha_hora"] = dates.fecha_hora
    env.globals["ROLE_NAMES"] = ROLE_NAMES
    return templates


#: The roles inside an account, as the guides name them.
ROLE_NAMES = {
    "administrator": "Usuario Administrador",
    "buyer": "Usuario Comprador",
    "supplier": "Usuario Proveedor",
}


def web(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


def session(request: Request) -> Session:
    return request.state.session  # type: ignore[no-any-return]


def caller(request: Request) -> Caller:
    """The person as the services must see them: their address, token and device cookie."""
    s = session(request)
    address = request_address(request, web(request).settings.trusted_proxies)
    token = s.user.access_token if s.user and s.signed_in else None
    agent = request.headers.get("user-agent")
    return Caller(address=address, token=token, device=s.device, user_agent=agent)


#: The headers of a document download that reach the browser (name, type, size, checksum).
DOWNLOAD_HEADERS = (
    "content-type",
    "content-disposition",
    "content-length",
    "x-document-sha256",
    "x-content-type-options",
)


async def pass_download(request: Request, service: Service, path: str) -> Response:
    """A stored document, streamed through as the service sends it, with its own headers
    (Content-Disposition: attachment, nosniff): never held whole in the portal's memory. The
    service decides who may read it (and records reads from outside the account).

    A link from another site may not start it: it would read a document in the person's name,
    and a read from outside the account is recorded and shown to its administrators."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return render(
            request,
            "error.html",
            status_code=403,
            title="Descarga no permitida",
            message="Descargue el documento desde su página en el portal.",
        )
    answer = await web(request).backend.open_stream(service, "GET", path, caller(request))
    if answer.status_code >= 400:
        await answer.aread()
        await answer.aclose()
        raise ApiError(answer)
    headers = {name: answer.headers[name] for name in DOWNLOAD_HEADERS if name in answer.headers}
    headers.setdefault("x-content-type-options", "nosniff")
    return StreamingResponse(
        answer.aiter_bytes(), headers=headers, background=BackgroundTask(answer.aclose)
    )


def start_session(request: Request, fresh: Session) -> None:
    """Replace the session whole (at login and logout: nothing planted before survives)."""
    request.state.session = fresh


def remember_device(request: Request, who: Caller) -> None:
    if who.new_device:
        session(request).device = who.new_device


def require_user(request: Request) -> Session:
    """The session of a signed-in person, else ``SignInNeeded``."""
    s = session(request)
    if not s.signed_in:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(path)
    return s


def own_origins(request: Request) -> set[str]:
    """This site as a browser names it: the public address (``PUBLIC_BASE_URL``: behind a
    proxy that ends TLS the portal itself is reached over http), or the address it was
    reached at."""
    public = urlsplit(web(request).settings.public_base_url)
    return {
        f"{public.scheme}://{public.netloc}",
        f"{request.url.scheme}://{request.headers.get('host', '')}",
    }


async def checked_form(request: Request, **limits: Any) -> FormData:
    """The posted form, if it carries this session's CSRF token and comes from this site."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") not in own_origins(request):
        raise FormRefused()
    form = await request.form(**limits)
    token = form.get("csrf_token")
    if not session(request).csrf_matches(token if isinstance(token, str) else None):
        raise FormRefused()
    return form


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    s = session(request)
    return web(request).templates.TemplateResponse(
        request,
        template,
        {
            "session": s,
            "csrf_token": s.csrf,
            "signed_in": s.signed_in,
            "user": s.user if s.signed_in else None,
            "is_agent": bool(s.signed_in and s.user and "support_agent" in s.user.roles),
            "notice": s.take_notice(),
            "errors": {},
            "values": {},
            **ctx,
        },
        status_code=status_code,
    )


#: Sent by static/portal.js with an upload it posts itself (to show progress).
SCRIPTED_UPLOAD = "x-portal-upload"
#: Where the script's upload leads, told instead of a redirect (see ``redirect``).
NEXT_PAGE = "X-Portal-Location"


def redirect(url: str, notice: str | None = None, request: Request | None = None) -> Response:
    """See other (303): the Post/Redirect/Get pattern, with a notice for the next page.

    An upload posted by the page's script gets the next page's address in a header instead:
    a redirect would be followed by the script itself, which would spend the notice, and the
    script could not tell a stored upload from a refused one (the form again, with errors)."""
    if notice and request is not None:
        session(request).notice = notice
    if request is not None and request.headers.get(SCRIPTED_UPLOAD) == "1":
        return Response(status_code=204, headers={NEXT_PAGE: url})
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path of this site (never another host, never a scheme-relative //host)."""
    if not target:
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default  # browsers read "/\\host" as "//host"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def sign_in_url(back_to: str) -> str:
    return f"/ingresar?siguiente={quote(back_to, safe='')}"


Call = Callable[[Request], Awaitable[Response]]


async def session_middleware(request: Request, call_next: Call) -> Response:
    """Load the session; after the page, write it back if it changed; add security headers."""
    w = web(request)
    loaded = w.codec.load(request.cookies.get(COOKIE))
    current = loaded or Session()
    if current.user and current.user.expired(datetime.now(UTC)):
        current.user = None
    request.state.session = current
    before = current.model_dump_json() if loaded else ""
    response = await call_next(request)
    final: Session = request.state.session  # a login or logout replaces it whole
    if final.model_dump_json() != before:
        response.set_cookie(
            COOKIE,
            w.codec.dump(final),
            max_age=w.settings.portal_session_max_age_s,
            httponly=True,
            samesite="lax",
            secure=w.settings.portal_secure_cookies,
            path="/",
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
    else:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


#: What a refusal of a service means to the person, when it says nothing more useful.
STATUS_MESSAGES = {
    400: "La solicitud no es válida.",
    401: "Su sesión terminó. Ingrese de nuevo.",
    403: "No tiene permiso para hacer esto.",
    404: "No encontramos lo que busca.",
    409: "No se puede hacer en el estado actual.",
    410: "El enlace venció.",
    413: "El archivo es demasiado grande.",
    415: "El tipo de archivo no se acepta.",
    429: "Demasiados intentos. Espere un momento y vuelva a intentarlo.",
    503: "El servicio no está disponible en este momento. Intente de nuevo en unos minutos.",
}


def message_for(error: ApiError) -> str:
    return STATUS_MESSAGES.get(error.status, "Ocurrió un error. Intente de nuevo.")


async def on_sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    notice = exc.notice or "Ingrese con su usuario y contraseña para continuar."
    return redirect(sign_in_url(exc.back_to), notice, request)


async def on_form_refused(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        status_code=403,
        title="Formulario vencido",
        message="El formulario venció o no vino de este sitio. Vuelva a la página y envíelo de "
        "nuevo.",
    )


async def on_bad_request(request: Request, exc: Exception) -> Response:
    """A page address with a value out of bounds (a link cut or altered): a Spanish page that
    repeats nothing of what was sent (it may be a token)."""
    return render(
        request,
        "error.html",
        status_code=400,
        title="Dirección no válida",
        message="La dirección de la página no es válida. Si la copió de un correo, cópiela "
        "completa o pida un correo nuevo.",
    )


async def on_api_error(request: Request, exc: Exception) -> Response:
    """A refusal no page handled: a session the services no longer accept signs the person
    out; anything else is a page saying what happened, with the service's status."""
    assert isinstance(exc, ApiError)
    if exc.status == 401:
        session(request).user = None
        back = request.url.path if request.method == "GET" else "/"
        return await on_sign_in_needed(
            request, SignInNeeded(back, "Su sesión terminó. Ingrese de nuevo.")
        )
    status = exc.status if 400 <= exc.status < 600 else 502
    return render(
        request, "error.html", status_code=status, title="No fue posible", message=message_for(exc)
    )
