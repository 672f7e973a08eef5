"""A person's own pages: the three-step sign-up, the emailed links, recovering a lost username
or password, and "Mi cuenta" (personal data, credentials, access history).

Every page is registration's public API. The pages the emailed links open never spend a token
on GET (mail scanners follow links): they post it back in a hidden field, and the token never
appears in a redirect. Passwords and the security answer are never written back into a page.
"""

from __future__ import annotations

from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from portal.adapters.backend import ApiError
from portal.entrypoints.web import (
    caller,
    checked_form,
    message_for,
    redirect,
    render,
    require_user,
    session,
    start_session,
    web,
)
from portal.service_layer.messages import field_errors
from portal.service_layer.session import Session

router = APIRouter()

COUNTRIES = [
    ("CO", "Colombia"), ("AR", "Argentina"), ("BR", "Brasil"), ("CL", "Chile"),
    ("EC", "Ecuador"), ("ES", "España"), ("US", "Estados Unidos"), ("MX", "México"),
    ("PA", "Panamá"), ("PE", "Perú"), ("VE", "Venezuela"),
]  # fmt: skip
DOCUMENT_TYPES = [
    ("CC", "Cédula de ciudadanía"), ("CE", "Cédula de extranjería"), ("PA", "Pasaporte"),
    ("TI", "Tarjeta de identidad"), ("PEP", "Permiso especial de permanencia"),
    ("PPT", "Permiso por protección temporal"),
]  # fmt: skip
#: SECOP's labels; registration takes the IANA name.
TIME_ZONES = [
    ("America/Bogota", "(UTC-05:00) Bogotá, Lima, Quito"),
    ("America/New_York", "(UTC-05:00) Hora del Este (EE. UU. y Canadá)"),
    ("America/Mexico_City", "(UTC-06:00) Guadalajara, Ciudad de México, Monterrey"),
    ("America/Caracas", "(UTC-04:00) Caracas"),
    ("America/Santiago", "(UTC-04:00) Santiago"),
    ("America/Argentina/Buenos_Aires", "(UTC-03:00) Buenos Aires"),
    ("America/Sao_Paulo", "(UTC-03:00) Brasilia"),
    ("Europe/Madrid", "(UTC+01:00) Madrid"),
    ("UTC", "(UTC) Tiempo universal coordinado"),
]
HISTORY_KINDS = {
    "login": "Ingreso",
    "logout": "Salida",
    "login_failed": "Intento de ingreso fallido",
    "password_check_failed": "Contraseña actual incorrecta",
    "locked": "Usuario bloqueado por intentos fallidos",
    "password_changed": "Cambio de contraseña",
    "username_changed": "Cambio de usuario",
    "password_reset": "Contraseña restablecida desde el correo",
}
HISTORY_SIZE = 20
OPTIONS = {"countries": COUNTRIES, "document_types": DOCUMENT_TYPES, "time_zones": TIME_ZONES}
#: Each list's labels by value, for showing the person's data.
LABELS = {name: dict(options) for name, options in OPTIONS.items()}

SIGNUP_TEXT = (
    "full_name", "country", "document_type", "document_number", "email", "username",
    "security_question", "mobile_phone", "time_zone", "account_name",
)  # fmt: skip
SIGNUP_REQUIRED = {
    "full_name": "Escriba su nombre y apellido como aparecen en su documento de identidad.",
    "country": "Elija el país.",
    "document_type": "Elija el tipo de documento.",
    "document_number": "Escriba el número de su documento de identidad.",
    "email": "Escriba su correo electrónico.",
    "username": "Elija su usuario.",
    "password": "Escriba una contraseña.",
    "password_confirmation": "Escriba de nuevo la contraseña.",
    "security_question": "Escriba una pregunta de seguridad.",
    "security_answer": "Escriba la respuesta a su pregunta de seguridad.",
    "mobile_phone": "Escriba su teléfono móvil de seguridad.",
    "time_zone": "Elija la zona horaria.",
    "account_name": "Escriba el nombre de la Entidad o del Proveedor.",
}
#: The sign-up form's fields in the order it shows them (the error summary follows it).
SIGNUP_ORDER = (
    "full_name", "country", "document_type", "document_number", "email", "mobile_phone",
    "time_zone", "username", "password", "password_confirmation", "security_question",
    "security_answer", "account_name", "accept_terms",
)  # fmt: skip
DIFFER = "Las dos contraseñas no coinciden."
RECOVERY_KEYS = ("document_number", "email", "mobile_phone", "username")
ONE_KEY = "Escriba solo uno de los cuatro datos."
LINK_PROBLEMS = {
    "expired": "El enlace venció.",
    "used": "Este enlace ya se usó.",
    "unknown": "Este enlace no es válido: puede que uno más reciente lo haya reemplazado.",
}
UNKNOWN_LINK = LINK_PROBLEMS["unknown"]
TAKEN_AT_REVERT = (
    "Su correo anterior ya pertenece a otro usuario confirmado: no es posible volver a él. "
    "Cree un caso en la Mesa de Servicio."
)
CURRENT = "Escriba su contraseña actual."
CURRENT_FOR_CREDENTIALS = (
    "Para cambiar el correo o el documento de identidad escriba su contraseña actual."
)
#: Changing any of these asks for the current password (recovery links go to the email).
CREDENTIAL_FIELDS = frozenset({"email", "document_type", "document_number"})
TAKEN_AT_CONFIRMATION = (
    "Su correo o su documento de identidad ya pertenecen a otro usuario confirmado: no es "
    "posible confirmar este registro. Si ese usuario es suyo, recupérelo con «Olvidé mi usuario»."
)
PROFILE_TEXT = (
    "full_name", "document_type", "document_number", "email", "mobile_phone", "time_zone",
    "security_question",
)  # fmt: skip


# --- pure helpers (tests/unit/portal/test_users.py) -------------------------------------------


def texts(form: FormData | dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The named fields, trimmed (never a password: those are taken as typed)."""
    return {name: str(form.get(name) or "").strip() for name in names}


def signup_problems(values: dict[str, str], secrets: dict[str, str], terms: bool) -> dict[str, str]:
    """What the sign-up form lacks, in Spanish, before asking registration."""
    given = {**values, **secrets}
    errors = {name: text for name, text in SIGNUP_REQUIRED.items() if not given.get(name)}
    email = values.get("email", "")
    if email and ("@" not in email or "." not in email.rpartition("@")[2]):
        errors["email"] = "Escriba un correo válido, por ejemplo nombre@dominio.co."
    if "password_confirmation" not in errors and secrets["password"] != secrets.get(
        "password_confirmation"
    ):
        errors["password_confirmation"] = DIFFER
    if not terms:
        errors["accept_terms"] = "Debe aceptar los términos y condiciones de uso para registrarse."
    return {name: errors[name] for name in SIGNUP_ORDER if name in errors}  # as the form reads


def recovery_key(values: dict[str, str]) -> tuple[str, str] | None:
    """The one key a username recovery asks by; None when none or several were given."""
    given = [(name, value) for name, value in values.items() if value]
    return given[0] if len(given) == 1 else None


def _same(name: str, value: str) -> str:
    """A value as registration compares it (a document written with dots is the same one)."""
    if name == "document_number":
        return value.replace(".", "").replace(" ", "").upper()
    return value.upper() if name == "document_type" else value.casefold()


def profile_changes(current: dict[str, Any], submitted: dict[str, str]) -> dict[str, str]:
    """Only what the person changed (registration changes only the fields sent, and a new
    email or document asks for the password)."""
    changes = {
        k: v
        for k, v in submitted.items()
        if v and _same(k, v) != _same(k, str(current.get(k) or ""))
    }
    if changes.get("email") and changes["email"] == current.get("pending_email"):
        del changes["email"]  # already waiting for confirmation
    return changes


def pages_of(total: int, page: int, size: int) -> dict[str, int | None]:
    """Where the access history's page links lead (None: no such page)."""
    last = max(1, ceil(total / size))
    return {
        "page": page,
        "last": last,
        "newer": page - 1 if page > 1 else None,
        "older": page + 1 if page < last else None,
    }


def choices(options: list[tuple[str, str]], current: str) -> list[tuple[str, str]]:
    """A list's options, with the person's current value even when the list lacks it."""
    return options if not current or current in dict(options) else [*options, (current, current)]


def page_number(raw: str | None) -> int:
    try:
        return min(max(int(raw or 1), 1), 10_000)
    except ValueError:
        return 1


def wait_phrase(error: ApiError) -> str:
    seconds = (error.retry_after or "").strip()
    return f" unos {seconds} segundos" if seconds.isdigit() else " unos minutos"


def refusal(error: ApiError) -> str:
    """A refusal with no field named, in a sentence a person understands."""
    reason = str(error.body.get("reason") or "")
    if error.status in (400, 410) and reason in LINK_PROBLEMS:
        return LINK_PROBLEMS[reason]
    if error.status == 429:
        if "locked" in error.message:
            return (
                "Su usuario quedó bloqueado por intentos fallidos: use el enlace que le enviamos "
                "por correo o «Olvidé mi contraseña»."
            )
        return f"Demasiados intentos. Espere{wait_phrase(error)} y vuelva a intentarlo."
    if error.status == 503:
        return f"Hay muchas solicitudes. Espere{wait_phrase(error)} e intente de nuevo."
    return message_for(error)


def profile_problems(
    values: dict[str, str], changes: dict[str, str], current_password: str
) -> dict[str, str]:
    """What the personal-data form lacks, in Spanish, before asking registration."""
    errors = {name: "Este dato es obligatorio." for name in PROFILE_TEXT if not values[name]}
    if CREDENTIAL_FIELDS & changes.keys() and not current_password:
        errors["current_password"] = CURRENT_FOR_CREDENTIALS
    return errors


def problems_of(error: ApiError) -> dict[str, str]:
    """A refusal as the form's errors: beside each field it names, else in the summary."""
    return field_errors(error) if error.fields else {"_": refusal(error)}


async def send(
    request: Request, method: str, path: str, json: Any = None, *, signed_in: bool = False
) -> tuple[dict[str, str], int]:
    """Ask registration: no errors when it agreed, else its refusal as the form's errors and
    its status. A 401 on a signed-in page is raised: the session ended, the person logs in."""
    try:
        await web(request).backend.call("registration", method, path, caller(request), json=json)
    except ApiError as error:
        if error.status == 401 and signed_in:
            raise
        return problems_of(error), error.status
    return {}, 200


def required(given: dict[str, str], messages: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in messages.items() if not given.get(name)}


def secrets_of(form: FormData, *names: str) -> dict[str, str]:
    """Passwords and answers, as typed (never written back into a page)."""
    return {name: str(form.get(name) or "") for name in names}


# --- step 1: "Registrar usuario" --------------------------------------------------------------


@router.get("/registro", response_class=HTMLResponse)
async def signup_page(request: Request) -> HTMLResponse:
    defaults = {"country": "CO", "time_zone": "America/Bogota", "document_type": "CC"}
    return render(request, "users/signup.html", values=defaults, **OPTIONS)


@router.post("/registro", response_class=HTMLResponse)
async def signup(request: Request) -> Response:
    """Registration creates the user pending confirmation and emails the link."""
    form = await checked_form(request)
    values = texts(form, SIGNUP_TEXT)
    secrets = secrets_of(form, "password", "password_confirmation", "security_answer")
    terms = bool(form.get("accept_terms"))
    errors, status = signup_problems(values, secrets, terms), 400
    if not errors:
        errors, status = await send(
            request, "POST", "/users", {**values, **secrets, "accept_terms": terms}
        )
    if errors:
        shown = {**values, "accept_terms": terms}
        return render(request, "users/signup.html", status, values=shown, errors=errors, **OPTIONS)
    notice = f"Registro recibido. Enviamos a {values['email']} el enlace que activa su usuario."
    return redirect("/registro/confirmar", notice, request)


# --- step 2: "Confirmar registro", and the link it emails -------------------------------------


@router.get("/registro/confirmar", response_class=HTMLResponse)
async def confirm_sent_page(request: Request) -> HTMLResponse:
    return render(request, "users/confirm_sent.html")


@router.post("/registro/confirmar", response_class=HTMLResponse)
async def resend_confirmation(request: Request) -> Response:
    form = await checked_form(request)
    values = texts(form, ("username_or_email",))
    errors, status = required(values, {"username_or_email": "Escriba su usuario o su correo."}), 400
    if not errors:
        errors, status = await send(request, "POST", "/users/confirmation/resend", values)
    if errors:
        return render(request, "users/confirm_sent.html", status, values=values, errors=errors)
    notice = (
        "Si hay un registro pendiente con ese dato, le enviamos un correo con un enlace nuevo "
        "(los anteriores dejan de funcionar). Revise también la carpeta de correo no deseado."
    )
    return redirect("/registro/confirmar", notice, request)


@router.get("/ConfirmAccount", response_class=HTMLResponse)
async def confirm_link_page(
    request: Request,
    confirmation_guid: Annotated[str, Query(alias="ConfirmationGuid", max_length=200)] = "",
    company_name: Annotated[str, Query(alias="CompanyName", max_length=300)] = "",
) -> HTMLResponse:
    """Only a button: following the link spends nothing."""
    problem = "" if confirmation_guid else UNKNOWN_LINK
    return render(
        request, "users/confirm_link.html", token=confirmation_guid, company=company_name,
        problem=problem,
    )  # fmt: skip


@router.post("/ConfirmAccount", response_class=HTMLResponse)
async def confirm_link(request: Request) -> Response:
    form = await checked_form(request)
    token, company = link_token(form), str(form.get("company") or "")[:300]
    errors, status = ({}, 200) if token else ({"_": UNKNOWN_LINK}, 400)
    if token:
        errors, status = await send(request, "POST", "/users/confirmation", {"token": token})
    if errors:
        problem = TAKEN_AT_CONFIRMATION if status == 409 else errors.get("_", UNKNOWN_LINK)
        return render(request, "users/confirm_link.html", status, problem=problem, company=company)
    return redirect("/registro/confirmado", "Registro confirmado.", request)


@router.get("/registro/confirmado", response_class=HTMLResponse)
async def confirmed_page(request: Request) -> HTMLResponse:
    return render(request, "users/confirmed.html")


def link_token(form: FormData) -> str:
    token = str(form.get("token") or "")
    return token if len(token) <= 200 else ""


# --- the emailed links of recovery and of an email change -------------------------------------


@router.get("/ChangePassword", response_class=HTMLResponse)
async def reset_link_page(
    request: Request, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    problem = "" if token else UNKNOWN_LINK
    return render(request, "users/reset_link.html", token=token, problem=problem)


@router.post("/ChangePassword", response_class=HTMLResponse)
async def reset_link(request: Request) -> Response:
    form = await checked_form(request)
    token = link_token(form)
    body = {"token": token, **secrets_of(form, "new_password", "new_password_confirmation")}
    errors, status = new_password_problems(body), 400
    if token and not errors:
        errors, status = await send(request, "POST", "/recovery/password/reset", body)
    if not token or "_" in errors:  # the link itself is refused: no form to try again
        problem = errors.get("_", UNKNOWN_LINK)
        return render(request, "users/reset_link.html", status, problem=problem)
    if errors:  # a password the policy refuses: the link still works
        return render(request, "users/reset_link.html", status, token=token, errors=errors)
    session(request).user = None  # registration ended every session of this user
    return redirect("/contrasena/cambiada", "Contraseña cambiada.", request)


def new_password_problems(body: dict[str, str]) -> dict[str, str]:
    if not body.get("new_password"):
        return {"new_password": "Escriba la nueva contraseña."}
    if body["new_password"] != body.get("new_password_confirmation"):
        return {"new_password_confirmation": DIFFER}
    return {}


@router.get("/contrasena/cambiada", response_class=HTMLResponse)
async def password_changed_page(request: Request) -> HTMLResponse:
    return render(request, "users/password_changed.html")


@router.get("/RevertEmail", response_class=HTMLResponse)
async def revert_link_page(
    request: Request, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    problem = "" if token else UNKNOWN_LINK
    return render(request, "users/revert_link.html", token=token, problem=problem)


@router.post("/RevertEmail", response_class=HTMLResponse)
async def revert_link(request: Request) -> Response:
    form = await checked_form(request)
    token = link_token(form)
    errors, status = ({}, 200) if token else ({"_": UNKNOWN_LINK}, 400)
    if token:
        errors, status = await send(request, "POST", "/users/email/revert", {"token": token})
    if errors:
        problem = TAKEN_AT_REVERT if status == 409 else errors.get("_", UNKNOWN_LINK)
        return render(request, "users/revert_link.html", status, problem=problem)
    session(request).user = None  # every session of the user ended
    return redirect("/correo/restablecido", "Su correo anterior quedó restablecido.", request)


@router.get("/correo/restablecido", response_class=HTMLResponse)
async def email_reverted_page(request: Request) -> HTMLResponse:
    return render(request, "users/email_reverted.html")


# --- forgot username, forgot password ---------------------------------------------------------


@router.get("/recuperar/usuario", response_class=HTMLResponse)
async def forgot_username_page(request: Request) -> HTMLResponse:
    return render(request, "users/forgot_username.html")


@router.post("/recuperar/usuario", response_class=HTMLResponse)
async def forgot_username(request: Request) -> Response:
    """Always the same answer: what is found goes to the registered address only."""
    form = await checked_form(request)
    values = texts(form, RECOVERY_KEYS)
    key = recovery_key(values)
    errors, status = ({}, 200) if key else ({"_": ONE_KEY}, 400)
    if key:
        errors, status = await send(request, "POST", "/recovery/username", dict([key]))
    if errors:
        errors = {"_": ONE_KEY} if status == 422 else errors
        return render(request, "users/forgot_username.html", status, values=values, errors=errors)
    notice = (
        "Si el dato corresponde a un usuario registrado, le enviamos un correo a la dirección "
        "registrada: con su cédula o su correo, su usuario; con su teléfono o su usuario, el "
        "correo que registró. Revise también la carpeta de correo no deseado."
    )
    return redirect("/recuperar/usuario", notice, request)


@router.get("/recuperar/contrasena", response_class=HTMLResponse)
async def forgot_password_page(request: Request) -> HTMLResponse:
    return render(request, "users/forgot_password.html")


@router.post("/recuperar/contrasena", response_class=HTMLResponse)
async def forgot_password(request: Request) -> Response:
    form = await checked_form(request)
    values = texts(form, ("username",))
    errors, status = required(values, {"username": "Escriba su nombre de usuario."}), 400
    if not errors:
        errors, status = await send(request, "POST", "/recovery/password", values)
    if errors:
        return render(request, "users/forgot_password.html", status, values=values, errors=errors)
    notice = (
        "Si el usuario está registrado, le enviamos un correo con el enlace para cambiar su "
        "contraseña. Solo funciona el enlace del correo más reciente."
    )
    return redirect("/recuperar/contrasena", notice, request)


# --- "Mi cuenta" ------------------------------------------------------------------------------


async def _me(request: Request) -> dict[str, Any]:
    me: dict[str, Any] = await web(request).backend.call(
        "registration", "GET", "/users/me", caller(request)
    )
    return me


@router.get("/mi-cuenta", response_class=HTMLResponse)
async def account_page(request: Request, pagina: str | None = None) -> HTMLResponse:
    """Personal data, credentials and the access history (newest first), in one page."""
    require_user(request)
    page = page_number(pagina)
    me = await _me(request)
    history = await web(request).backend.call(
        "registration", "GET", "/users/me/access-history", caller(request),
        params={"page": page, "size": HISTORY_SIZE},
    )  # fmt: skip
    return render(
        request, "users/account.html", me=me, history=history, kinds=HISTORY_KINDS,
        pages=pages_of(history["total"], page, HISTORY_SIZE), labels=LABELS,
    )  # fmt: skip


@router.get("/mi-cuenta/datos", response_class=HTMLResponse)
async def edit_profile_page(request: Request) -> HTMLResponse:
    require_user(request)
    me = await _me(request)
    values = {name: str(me.get(name) or "") for name in PROFILE_TEXT}
    return render(request, "users/edit_profile.html", me=me, values=values, **profile_options(me))


def profile_options(me: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        "document_types": choices(DOCUMENT_TYPES, str(me.get("document_type") or "")),
        "time_zones": choices(TIME_ZONES, str(me.get("time_zone") or "")),
    }


@router.post("/mi-cuenta/datos", response_class=HTMLResponse)
async def edit_profile(request: Request) -> Response:
    """Sends only what changed; a new email waits for confirmation by link."""
    require_user(request)
    form = await checked_form(request)
    values = texts(form, PROFILE_TEXT)
    secrets = secrets_of(form, "security_answer", "current_password")
    me = await _me(request)
    changes = profile_changes(me, values)
    if secrets["security_answer"].strip():
        changes["security_answer"] = secrets["security_answer"]
    errors, status = profile_problems(values, changes, secrets["current_password"]), 400
    if not errors and changes:
        if CREDENTIAL_FIELDS & changes.keys():
            changes["current_password"] = secrets["current_password"]
        errors, status = await send(request, "PATCH", "/users/me", changes, signed_in=True)
    if errors:
        return render(
            request, "users/edit_profile.html", status, me=me, values=values, errors=errors,
            **profile_options(me),
        )  # fmt: skip
    notice = "Sus datos quedaron actualizados." if changes else "No cambió ningún dato."
    if "email" in changes:
        notice = (
            f"Le enviamos un enlace a {changes['email']}: el nuevo correo se usará cuando lo "
            f"confirme. Mientras tanto seguimos usando {me.get('email')}."
        )
    return redirect("/mi-cuenta", notice, request)


@router.get("/mi-cuenta/contrasena", response_class=HTMLResponse)
async def change_password_page(request: Request) -> HTMLResponse:
    require_user(request)
    return render(request, "users/change_password.html")


@router.post("/mi-cuenta/contrasena", response_class=HTMLResponse)
async def change_password(request: Request) -> Response:
    """Registration ends every session of the person: they log in again with the new one."""
    s = require_user(request)
    form = await checked_form(request)
    body = secrets_of(form, "current_password", "new_password", "new_password_confirmation")
    errors, status = (
        {**required(body, {"current_password": CURRENT}), **new_password_problems(body)},
        400,
    )
    if not errors:
        errors, status = await send(request, "PUT", "/users/me/password", body, signed_in=True)
    if errors:
        return render(request, "users/change_password.html", status, errors=errors)
    start_session(request, Session(device=s.device))
    notice = (
        "Contraseña cambiada. Por seguridad se cerraron todas sus sesiones: ingrese con la "
        "nueva contraseña."
    )
    return redirect("/ingresar?siguiente=/mi-cuenta", notice, request)


@router.get("/mi-cuenta/usuario", response_class=HTMLResponse)
async def change_username_page(request: Request) -> HTMLResponse:
    require_user(request)
    return render(request, "users/change_username.html")


@router.post("/mi-cuenta/usuario", response_class=HTMLResponse)
async def change_username(request: Request) -> Response:
    s = require_user(request)
    form = await checked_form(request)
    values = texts(form, ("new_username",))
    body = {**values, **secrets_of(form, "current_password")}
    messages = {"new_username": "Escriba el nuevo usuario.", "current_password": CURRENT}
    errors, status = required(body, messages), 400
    if not errors:
        errors, status = await send(request, "PUT", "/users/me/username", body, signed_in=True)
    if errors:
        return render(request, "users/change_username.html", status, values=values, errors=errors)
    new = values["new_username"].lower()
    if s.user is not None:  # the nav's name (the token keeps the old one until it expires)
        s.user.username = new
    return redirect("/mi-cuenta", f"Su usuario ahora es {new}.", request)
