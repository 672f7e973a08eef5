"""The pages emailed links open. A GET never consumes a token (mail scanners follow links);
the page's button POSTs it to the JSON API."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from registration.domain.tokens import Purpose, token_hash
from registration.domain.user import User
from registration.entrypoints.deps import Ctx
from registration.service_layer.context import Context
from registration.service_layer.links import link_holder

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SECOP II - {title}</title></head>
<body><main><h1>{title}</h1>{body}<p id="result" role="status"></p></main>
<script>
async function send(path, payload) {{
  const r = await fetch(path, {{method: "POST", headers: {{"Content-Type": "application/json"}},
                               body: JSON.stringify(payload)}});
  let text = r.ok ? "{done}" : "";
  if (!r.ok) {{ try {{ const b = await r.json();
    text = typeof b.detail === "string" ? b.detail : b.detail.map(e => e.msg).join("; ");
  }} catch (e) {{ text = "Error " + r.status; }} }}
  document.getElementById("result").textContent = text;
}}
{script}
</script></body></html>"""

CONFIRM_BODY = """<p>Cuenta: <strong>{company}</strong></p>
<form id="f" data-token="{token}"><button type="submit">Confirmar registro</button></form>"""
CONFIRM_SCRIPT = """document.getElementById("f").addEventListener("submit", e => {
  e.preventDefault(); send("/users/confirmation", {token: e.target.dataset.token}); });"""

RESET_BODY = """<p>Usuario: <strong>{username}</strong></p>
<form id="f" data-token="{token}">
<label>Nueva contraseña <input type="password" name="p1" autocomplete="new-password" required>
</label><br><label>Confirme la contraseña
<input type="password" name="p2" autocomplete="new-password" required></label><br>
<button type="submit">Cambiar contraseña</button></form>"""
RESET_SCRIPT = """document.getElementById("f").addEventListener("submit", e => {
  e.preventDefault(); const f = e.target;
  send("/recovery/password/reset", {token: f.dataset.token, new_password: f.p1.value,
       new_password_confirmation: f.p2.value}); });"""

REVERT_BODY = """<p>Usuario: <strong>{username}</strong></p>
<p>Volverá a usar el correo {email} y se cerrarán todas sus sesiones abiertas.</p>
<form id="f" data-token="{token}"><button type="submit">Conservar mi correo</button></form>"""
REVERT_SCRIPT = """document.getElementById("f").addEventListener("submit", e => {
  e.preventDefault(); send("/users/email/revert", {token: e.target.dataset.token}); });"""

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
}


async def _live_link(s: Context, purpose: Purpose, token: str) -> User | None:
    """The user whose live link this is (reading spends nothing)."""
    if not token:
        return None
    digest = token_hash(token)
    user = await link_holder(s, purpose, token, digest)
    return user if user and user.link_problem(purpose, digest, s.now()) is None else None


def _page(title: str, body: str, script: str, done: str) -> HTMLResponse:
    html = PAGE.format(title=title, body=body, script=script, done=done)
    return HTMLResponse(html, headers=HEADERS)


@router.get("/ConfirmAccount")
async def confirm_account_page(
    confirmation_guid: Annotated[str, Query(alias="ConfirmationGuid", max_length=200)] = "",
    company_name: Annotated[str, Query(alias="CompanyName", max_length=300)] = "",
) -> HTMLResponse:
    body = CONFIRM_BODY.format(company=escape(company_name), token=escape(confirmation_guid))
    done = "Registro confirmado: ya puede iniciar sesión con su usuario y contraseña."
    return _page("Confirmar registro", body, CONFIRM_SCRIPT, done)


@router.get("/ChangePassword")
async def change_password_page(
    s: Ctx, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    user = await _live_link(s, "reset", token)
    if user is None:
        body = "<p>Este enlace no es válido o ha vencido: solicite uno nuevo.</p>"
        return _page("Cambiar contraseña", body, "", "")
    body = RESET_BODY.format(username=escape(user.username), token=escape(token))
    done = "Contraseña cambiada: inicie sesión con la nueva contraseña."
    return _page("Cambiar contraseña", body, RESET_SCRIPT, done)


@router.get("/RevertEmail")
async def revert_email_page(
    s: Ctx, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    user = await _live_link(s, "revert", token)
    if user is None or user.revert_email is None:
        body = "<p>Este enlace no es válido, ya se usó o ha vencido.</p>"
        return _page("Conservar mi correo", body, "", "")
    body = REVERT_BODY.format(
        username=escape(user.username), email=escape(user.revert_email), token=escape(token)
    )
    done = "Listo: su usuario volvió a su correo y sus sesiones se cerraron. Cambie su contraseña."
    return _page("Conservar mi correo", body, REVERT_SCRIPT, done)
