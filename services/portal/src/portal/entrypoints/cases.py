"""The service desk's pages: "Crear caso", following a case as its requester, and the agents'
queue and case page.

A requester proves a case is theirs with its access key (emailed when the case opened) and
their email; the portal keeps the key in the encrypted session once typed and never puts it in
a URL of its own (the opening email's link carries it once, to ``/casos/seguimiento/enlace``,
which moves it into the session and sends the browser on to the bare follow page). Requester
calls go without the person's token: support answers a token as an agent's (or refuses a token
without the role). Agents (``support_agent``) work with their own token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.backend import ApiError, Caller
from portal.entrypoints.web import (
    SignInNeeded,
    caller,
    checked_form,
    pass_download,
    redirect,
    render,
    require_user,
    session,
    web,
)
from portal.service_layer.messages import field_errors
from portal.service_layer.session import LinkedCase, OpenedCase

#: Why an agent may not download a case's document (membership's 403).
NOT_WORKING = (
    "Solo el agente asignado a un caso abierto descarga los documentos de su Entidad. Si acaba "
    "de asignarse el caso, espere unos segundos y vuelva a intentarlo."
)
router = APIRouter()

#: Support's default subject catalogue (its ``CASE_SUBJECTS``); support refuses any other.
SUBJECTS = (
    "Recuperación de usuario",
    "Recuperación de contraseña",
    "Gestión de registro y configuración de Entidades Estatales",
    "Habilitación de perfil mixto",
    "Registro de proveedores",
    "Solicitud de acceso a una cuenta",
    "Procesos de contratación",
    "Otros",
)
CREDENTIALS_SUBJECT = "Recuperación de usuario"
#: Subjects whose cases carry a desk decision, and which decisions each takes.
DECISIONS = {
    "Gestión de registro y configuración de Entidades Estatales": (
        ("approve", "Aprobar la activación"),
        ("request_changes", "Solicitar cambios"),
        ("reject", "Rechazar la activación"),
    ),
    "Habilitación de perfil mixto": (
        ("approve", "Aprobar el perfil mixto"),
        ("reject", "Rechazar el perfil mixto"),
    ),
}
SYSTEMS = (("SECOP_II", "SECOP II"), ("SECOP_I", "SECOP I"), ("TVEC", "Tienda Virtual del Estado"))
REQUEST_TYPES = (
    ("solicitud", "Solicitud"),
    ("duda", "Duda"),
    ("peticion", "Petición"),
    ("queja", "Queja"),
    ("reclamo", "Reclamo"),
    ("sugerencia", "Sugerencia"),
    ("denuncia", "Denuncia"),
)
USER_TYPES = (("comprador", "Comprador"), ("proveedor", "Proveedor"), ("ciudadano", "Ciudadano"))
LABELS = {
    "requester.full_name": "Nombres y apellidos",
    "requester.document_number": "Número de documento",
    "requester.entity_name": "Nombre de la Entidad o empresa",
    "requester.department": "Departamento",
    "requester.municipality": "Municipio",
    "requester.email": "Correo electrónico",
    "requester.phone": "Teléfono",
    "requester.mobile": "Celular",
    "system": "Sistema de información",
    "request_type": "Tipo de solicitud",
    "subject": "Asunto",
    "user_type": "Tipo de usuario",
    "description": "Descripción",
    "account_id": "Cuenta",
    "nit": "NIT",
    "number": "Número de caso",
    "email": "Correo electrónico",
    "key": "Clave de acceso",
    "body": "Mensaje",
    "resolution": "Solución",
    "reason": "Motivo",
    "message": "Mensaje para el solicitante",
}
#: (form field, longest) of the requester's data; the rest of the form is checked by name.
REQUESTER = (
    ("full_name", 200),
    ("document_number", 30),
    ("entity_name", 300),
    ("department", 100),
    ("municipality", 100),
    ("email", 254),
    ("phone", 30),
    ("mobile", 30),
)
FORM_FIELDS = (*(f"requester.{n}" for n, _ in REQUESTER), "system", "request_type", "subject",
               "user_type", "description", "account_id", "nit")  # fmt: skip
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOCUMENT = re.compile(r"^[0-9A-Za-z.\-]+$")
PHONE = re.compile(r"^[0-9+ ()\-]*$")
CASE_NUMBER = re.compile(r"^CCE-\d{4}-\d{6,9}$")
#: An access key as a link may carry it: printable ASCII without spaces (support's are 24
#: URL-safe characters). The form takes up to ``KEY_MAX`` characters of anything.
LINKED_KEY = re.compile(r"^[!-~]{8,100}$")
KEY_MAX = 100
TEXT_MAX = 10_000
QUEUE_PAGE = 25
BAD_LINK = "El enlace está incompleto o dañado. Cópielo completo desde el correo «Caso … creado en la Mesa de Servicio de SECOP», o escriba abajo el número de caso, su correo y la clave de acceso."  # noqa: E501
NOT_FOLLOWED = "No encontramos un caso con ese número, correo y clave de acceso. Revíselos en el correo que recibió al crear el caso."  # noqa: E501


# -- pure helpers ------------------------------------------------------------------------------
def case_request(
    form: Mapping[str, str], accounts: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Support's ``POST /cases`` body from the form, and the form's errors in Spanish.
    ``accounts``: the signed-in person's accounts by id (the only ones they may choose)."""
    errors: dict[str, str] = {}
    value = {name: (form.get(name) or "").strip() for name in FORM_FIELDS}
    requester = {name: value[f"requester.{name}"] for name, _ in REQUESTER}
    for name, longest in REQUESTER:
        if len(requester[name]) > longest:
            errors[f"requester.{name}"] = f"Debe tener como máximo {longest} caracteres."
    if not requester["full_name"]:
        errors["requester.full_name"] = "Escriba sus nombres y apellidos."
    doc = requester["document_number"]
    if not doc:
        errors["requester.document_number"] = "Escriba su número de documento."
    elif not DOCUMENT.match(doc) or not 3 <= len(doc) <= 30:
        errors["requester.document_number"] = (
            "Escriba el número sin espacios: letras, números, puntos o guiones (3 a 30)."
        )
    if not requester["email"]:
        errors["requester.email"] = "Escriba el correo donde quiere recibir la respuesta."
    elif not EMAIL.match(requester["email"]):
        errors["requester.email"] = "Escriba un correo válido, por ejemplo nombre@dominio.gov.co."
    for name in ("phone", "mobile"):
        if not PHONE.match(requester[name]):
            errors[f"requester.{name}"] = "Escriba solo números, espacios, +, guiones o paréntesis."
    choices = {"system": SYSTEMS, "request_type": REQUEST_TYPES, "user_type": USER_TYPES}
    for name, options in choices.items():
        if value[name] not in {v for v, _ in options}:
            errors[name] = "Elija una de las opciones."
    if value["subject"] not in SUBJECTS:
        errors["subject"] = "Elija el asunto de la lista."
    if not value["description"]:
        errors["description"] = "Describa su solicitud."
    elif len(value["description"]) > TEXT_MAX:
        errors["description"] = f"Debe tener como máximo {TEXT_MAX} caracteres."
    body: dict[str, Any] = {
        "requester": requester,
        "system": value["system"],
        "request_type": value["request_type"],
        "subject": value["subject"],
        "user_type": value["user_type"],
        "description": value["description"],
    }
    nit = re.sub(r"[.\s]", "", value["nit"])
    if value["account_id"]:
        account = (accounts or {}).get(value["account_id"])
        if account is None:
            errors["account_id"] = "Elija una de sus cuentas, o ninguna."
        else:
            body["account_id"] = value["account_id"]
            nit = nit or str(account.get("nit") or "")
    if nit:
        if "-" in nit:
            errors["nit"] = "Escriba el NIT sin el dígito de verificación."
        elif not re.fullmatch(r"[0-9]{5,15}", nit):
            errors["nit"] = "Escriba el NIT con 5 a 15 números, sin dígito de verificación."
        body["nit"] = nit
    return body, errors


def case_number(typed: str) -> str | None:
    """The case number as support writes it (``CCE-2026-000123``), or None."""
    number = typed.strip().upper()
    return number if CASE_NUMBER.match(number) else None


def queue_params(
    estado: str | None, asunto: str | None, asignado: str | None, vencidos: str | None, pagina: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Support's queue query from the filters form (unknown values ignored), and the values
    the form shows again."""
    values = {
        "estado": estado if estado in ("open", "resolved", "all") else "open",
        "asunto": asunto if asunto in SUBJECTS else "",
        "asignado": asignado if asignado in ("me", "none") else "",
        "vencidos": vencidos if vencidos in ("true", "false") else "",
    }
    params: dict[str, Any] = {
        "status": values["estado"],
        "offset": (max(pagina, 1) - 1) * QUEUE_PAGE,
        "limit": QUEUE_PAGE,
    }
    for form_name, api_name in (("asunto", "subject"), ("asignado", "assignee"),
                                ("vencidos", "overdue")):  # fmt: skip
        if values[form_name]:
            params[api_name] = values[form_name]
    return params, values


#: Support's refusals of the desk's actions (English), said to the agent in Spanish.
REFUSALS = (
    ("is not resolved", "El caso no está resuelto: no hay nada que reabrir."),
    ("is resolved", "El caso está resuelto: reábralo antes de hacerlo."),
    ("not linked to a submitted entity",
     "El caso aún no está vinculado a una Entidad enviada: no hay cuenta que activar. Se "
     "vincula cuando la Entidad pulsa «Finalizar»."),
    ("has not written on it",
     "El solicitante aún no ha escrito en el caso con la clave de su correo, así que nada "
     "prueba que el correo sea suyo. Pídale que responda desde el seguimiento del caso."),
    ("names no account_id", "El caso no indica la cuenta: no hay perfil que habilitar."),
    ("decisions apply only",
     "Este caso no lleva decisiones: solo los casos de activación de Entidades y de perfil "
     "mixto."),
    ("credentials are resent only", "Solo los casos «Recuperación de usuario» reenvían datos."),
    ("say what the requester must change",
     "Escriba el mensaje para el solicitante: qué debe corregir o por qué se rechaza."),
    ("request_changes", "Un perfil mixto se aprueba o se rechaza: no se solicitan cambios."),
)  # fmt: skip


def desk_refusal(error: ApiError) -> str:
    """A refusal of an agent's action, in Spanish."""
    said = error.message or " ".join(error.fields.values())
    for english, spanish in REFUSALS:
        if english in said:
            return spanish
    if error.status == 404:
        return "No encontramos ese caso."
    if error.status == 403:
        return "Su usuario no tiene el rol de agente de la Mesa de Servicio."
    return "La Mesa de Servicio no aceptó la acción. Revise el caso e intente de nuevo."


def _wait(error: ApiError) -> str:
    wait = f" unos {error.retry_after} segundos" if error.retry_after else " un momento"
    return f"Demasiados intentos. Espere{wait} y vuelva a intentarlo."


# -- "Crear caso" ----------------------------------------------------------------------------
@router.get("/casos/nuevo", response_class=HTMLResponse)
async def new_case_page(
    request: Request,
    asunto: Annotated[str | None, Query(max_length=200)] = None,
    cuenta: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Signed in: the person's data and accounts from their profile and registrations.
    ``asunto`` and ``cuenta`` preselect a subject and an account (links from other pages)."""
    values: dict[str, str] = {"system": "SECOP_II"}
    accounts: dict[str, dict[str, Any]] = {}
    if session(request).signed_in:
        values |= await _profile_values(request)
        accounts = await _accounts(request)
    if asunto in SUBJECTS:
        values["subject"] = asunto
    if cuenta in accounts:
        values["account_id"] = cuenta
    return _new_case(request, values, {}, accounts)


@router.post("/casos/nuevo", response_class=HTMLResponse)
async def open_case(request: Request) -> Response:
    """Signed in, the person's token goes along: support records who opened the case."""
    form = await checked_form(request)
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    accounts = await _accounts(request) if session(request).signed_in else {}
    body, errors = case_request(values, accounts)
    if errors:
        return _new_case(request, values, errors, accounts, 400)
    try:
        opened = await web(request).backend.call(
            "support", "POST", "/cases", caller(request), json=body
        )
    except ApiError as error:
        if error.status == 429:
            return _new_case(request, values, {"_": _wait(error)}, accounts, 429)
        if error.status != 422:
            raise
        errors = field_errors(error)
        if "subject" in errors:
            errors["subject"] = "Ese asunto no está en el catálogo de la Mesa de Servicio."
        return _new_case(request, values, errors or {"_": "Revise los datos."}, accounts, 422)
    session(request).opened_case = OpenedCase(
        number=opened["case_number"],
        first_response_due=opened["first_response_due"],
        email=body["requester"]["email"],
    )
    return redirect("/casos/creado", None, request)


@router.get("/casos/creado", response_class=HTMLResponse)
async def case_opened(request: Request) -> Response:
    opened = session(request).opened_case
    if opened is None:
        return redirect("/casos/nuevo")
    return render(request, "cases/opened.html", opened=opened)


def _new_case(
    request: Request,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    accounts: Mapping[str, Mapping[str, Any]],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "cases/new.html",
        status_code=status_code,
        values=values,
        errors=errors,
        labels=LABELS,
        accounts=[(a, f"{x['account_name']} (NIT {x['nit']})") for a, x in accounts.items()],
        systems=SYSTEMS,
        request_types=REQUEST_TYPES,
        subjects=[(s, s) for s in SUBJECTS],
        user_types=USER_TYPES,
    )


async def _profile_values(request: Request) -> dict[str, str]:
    """What the person's profile (registration's ``GET /users/me``) fills in the form."""
    me = await web(request).backend.call("registration", "GET", "/users/me", caller(request))
    return {
        "requester.full_name": me.get("full_name") or "",
        "requester.document_number": me.get("document_number") or "",
        "requester.email": me.get("email") or "",
        "requester.mobile": me.get("mobile_phone") or "",
        "requester.entity_name": me.get("account_name") or "",
    }


async def _accounts(request: Request) -> dict[str, dict[str, Any]]:
    """The accounts the person belongs to or waits for ("Mis registros"), by id."""
    try:
        rows = await web(request).backend.call(
            "membership", "GET", "/users/me/memberships", caller(request)
        )
    except ApiError as error:
        if error.status == 401:
            raise
        return {}  # membership may not know the user yet: the form works without accounts
    return {
        str(r["account_id"]): r for r in rows or [] if r.get("status") in ("pending", "accepted")
    }


# -- following a case as its requester --------------------------------------------------------
@router.get("/casos/seguimiento", response_class=HTMLResponse)
async def follow_page(request: Request) -> HTMLResponse:
    s = session(request)
    opened, linked = s.opened_case, s.linked_case
    values = {"number": opened.number, "email": opened.email} if opened else {}
    if linked is not None and values.get("number") != linked.number:
        values = {"number": linked.number}
    return _follow(request, values, {})


@router.get("/casos/seguimiento/enlace", response_class=HTMLResponse)
async def follow_link(
    request: Request, caso: str | None = None, clave: str | None = None
) -> Response:
    """The opening email's link. Its key goes into the session and out of the address bar
    (a redirect to the bare follow page), unchecked: support is called only when the person
    types their email, so a link preview or a scanner fetching it learns nothing and spends
    none of the requester's attempts."""
    s = session(request)
    number = case_number(caso or "")
    key = (clave or "").strip()
    if number is None or not LINKED_KEY.match(key):
        s.linked_case = None  # a broken link replaces an earlier one: nothing is kept
        return _follow(request, {"number": number} if number else {}, {"_": BAD_LINK}, 400)
    s.linked_case = LinkedCase(number=number, key=key)
    return redirect("/casos/seguimiento", None, request)


@router.post("/casos/seguimiento", response_class=HTMLResponse)
async def follow(request: Request) -> Response:
    """The key typed once is kept in the session (never in a URL) for the case's pages. An
    empty key is the one the email's link brought, for that link's case; a typed one wins."""
    form = await checked_form(request)
    s = session(request)
    values = {n: str(form.get(n) or "").strip() for n in ("number", "email")}
    key = str(form.get("key") or "").strip()
    number = case_number(values["number"])
    linked = s.linked_case
    if not key and linked is not None and number == linked.number:
        key = linked.key
    errors: dict[str, str] = {}
    if number is None:
        errors["number"] = (
            "Escriba el número como aparece en el correo, por ejemplo CCE-2026-000123."
        )
    if not EMAIL.match(values["email"]):
        errors["email"] = "Escriba el correo con el que creó el caso."
    if not key or len(key) > KEY_MAX:
        errors["key"] = "Escriba la clave de acceso que recibió en el correo del caso."
    if errors or number is None:
        return _follow(request, values, errors, 400)
    try:
        await _requester_call(request, "GET", number, values["email"], key)
    except ApiError as error:
        if error.status == 404:
            return _follow(request, values, {"_": NOT_FOLLOWED}, 404)
        if error.status == 429:
            return _follow(request, values, {"_": _wait(error)}, 429)
        raise
    s.remember_case(number, values["email"], key)
    if linked is not None and linked.number == number:
        s.linked_case = None
    return redirect(f"/casos/seguimiento/{number}", None, request)


@router.get("/casos/seguimiento/{number}", response_class=HTMLResponse)
async def followed_case(request: Request, number: str) -> Response:
    return await _followed(request, number)


@router.post("/casos/seguimiento/{number}/mensajes", response_class=HTMLResponse)
async def requester_writes(request: Request, number: str) -> Response:
    form = await checked_form(request)
    text = str(form.get("body") or "").strip()
    access = session(request).case_keys.get(number)
    if access is None:
        return redirect("/casos/seguimiento", "Escriba de nuevo los datos del caso.", request)
    if not text or len(text) > TEXT_MAX:
        error = "Escriba su mensaje." if not text else f"Máximo {TEXT_MAX} caracteres."
        return await _followed(request, number, {"body": error}, {"body": text}, 400)
    try:
        await _requester_call(
            request, "POST", number, access.email, access.key, json={"body": text}
        )
    except ApiError as error:
        if error.status == 409:
            said = "El caso está resuelto: si necesita más ayuda, cree un caso nuevo citando este número."  # noqa: E501
            return await _followed(request, number, {"_": said}, {"body": text}, 409)
        if error.status == 429:
            return await _followed(request, number, {"_": _wait(error)}, {"body": text}, 429)
        if error.status == 422:
            return await _followed(request, number, field_errors(error), {"body": text}, 422)
        raise
    return redirect(
        f"/casos/seguimiento/{number}", "Su mensaje llegó a la Mesa de Servicio.", request
    )


@router.post("/casos/seguimiento/{number}/olvidar")
async def forget_case(request: Request, number: str) -> Response:
    await checked_form(request)
    session(request).forget_case(number)
    return redirect("/casos/seguimiento", "Este navegador ya no guarda la clave del caso.", request)


async def _followed(
    request: Request,
    number: str,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    s = session(request)
    access = s.case_keys.get(number)
    if access is None:
        notice = "Escriba el número de caso, su correo y la clave de acceso para ver el caso."
        return redirect("/casos/seguimiento", notice, request)
    try:
        case = await _requester_call(request, "GET", number, access.email, access.key)
    except ApiError as error:
        if error.status == 404:
            s.forget_case(number)
            return redirect("/casos/seguimiento", NOT_FOLLOWED, request)
        if error.status == 429:
            return render(request, "error.html", 429, title="Espere", message=_wait(error))
        raise
    return render(
        request,
        "cases/case.html",
        status_code=status_code,
        case=case,
        errors=errors or {},
        values=values or {},
        labels=LABELS,
    )


async def _requester_call(
    request: Request, method: str, number: str, email: str, key: str, **kwargs: Any
) -> Any:
    """As the requester: their address, no token (support reads a token as an agent's)."""
    who = Caller(address=caller(request).address)
    headers = {"X-Case-Key": key}
    if method == "GET":
        kwargs["params"] = {"email": email}
    else:
        kwargs["json"] = {**kwargs.get("json", {}), "email": email}
    path = f"/cases/{number}" if method == "GET" else f"/cases/{number}/messages"
    return await web(request).backend.call("support", method, path, who, headers=headers, **kwargs)


def _follow(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], status_code: int = 200
) -> HTMLResponse:
    s = session(request)
    return render(
        request,
        "cases/follow.html",
        status_code=status_code,
        values=values,
        errors=errors,
        labels=LABELS,
        followed=list(s.case_keys),
        linked=s.linked_case.number if s.linked_case else None,  # the number only, never the key
    )


# -- the agents' desk -----------------------------------------------------------------------
def _not_agent(request: Request, back: str | None = None) -> HTMLResponse | None:
    """None for a signed-in agent; the refusal page for anyone else signed in. A stranger logs
    in first and comes back to ``back`` (a form's page: a POST's own path cannot be revisited)."""
    s = session(request) if back else require_user(request)
    if not s.signed_in:
        raise SignInNeeded(back or "/mesa/casos")
    if s.user and "support_agent" in s.user.roles:
        return None
    return render(
        request,
        "error.html",
        status_code=403,
        title="Solo para la Mesa de Servicio",
        message="Esta página es de los agentes de la Mesa de Servicio. Si necesita ayuda, "
        "cree un caso.",
    )


@router.get("/mesa/casos", response_class=HTMLResponse)
async def queue(
    request: Request,
    estado: Annotated[str | None, Query(max_length=20)] = None,
    asunto: Annotated[str | None, Query(max_length=200)] = None,
    asignado: Annotated[str | None, Query(max_length=20)] = None,
    vencidos: Annotated[str | None, Query(max_length=10)] = None,
    pagina: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    if (refused := _not_agent(request)) is not None:
        return refused
    params, values = queue_params(estado, asunto, asignado, vencidos, pagina)
    page = await web(request).backend.call(
        "support", "GET", "/cases", caller(request), params=params
    )
    shown = {k: v for k, v in values.items() if v}
    return render(
        request,
        "cases/queue.html",
        page=page,
        values=values,
        pagina=pagina,
        pages=max(1, -(-page["total"] // QUEUE_PAGE)),
        filters=shown,
        subjects=[(s, s) for s in SUBJECTS],
        me=session(request).user.user_id,  # type: ignore[union-attr]  # an agent is signed in
    )


@router.get("/mesa/casos/{number}", response_class=HTMLResponse)
async def desk_case(request: Request, number: str) -> Response:
    if (refused := _not_agent(request)) is not None:
        return refused
    return await _desk_case(request, number)


async def _desk_case(
    request: Request,
    number: str,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if case_number(number) != number:
        return render(
            request, "error.html", 404, title="No encontrado", message="No existe ese caso."
        )
    case = await web(request).backend.call("support", "GET", f"/cases/{number}", caller(request))
    return render(
        request,
        "cases/desk_case.html",
        status_code=status_code,
        case=case,
        errors=errors or {},
        values=values or {},
        labels=LABELS,
        me=session(request).user.user_id,  # type: ignore[union-attr]
        names=dict((*SYSTEMS, *REQUEST_TYPES, *USER_TYPES)),
        decisions=DECISIONS.get(case["subject"], ()),
        credentials=case["subject"] == CREDENTIALS_SUBJECT,
    )


#: The agent's actions: portal path -> (support's path, the form's text field and the body's
#: name for it, whether the text is required, the notice after it).
ACTIONS: dict[str, tuple[str, str | None, str | None, str]] = {
    "mensajes": ("messages", "body", "body", "Respuesta enviada al solicitante."),
    "asignar": ("assign", None, None, "El caso quedó asignado a usted."),
    "resolver": (
        "resolve",
        "resolution",
        "resolution",
        "Caso resuelto; el solicitante recibe la solución por correo.",
    ),
    "reabrir": ("reopen", "reason", "reason", "Caso reabierto."),
    "credenciales": (
        "credentials",
        None,
        None,
        "Se pidió a registro enviar los datos del usuario a su correo registrado, si coincide "
        "con el solicitante.",
    ),
}


@router.post("/mesa/casos/{number}/activacion", response_class=HTMLResponse)
async def decide(request: Request, number: str) -> Response:
    """Approve, request changes or reject: the button pressed is the decision."""
    if (refused := _not_agent(request, f"/mesa/casos/{number}")) is not None:
        return refused
    form = await checked_form(request)
    decision = str(form.get("decision") or "")
    message = str(form.get("message") or "").strip()
    values = {"message": message}
    if decision not in ("approve", "request_changes", "reject"):
        return await _desk_case(request, number, {"_": "Elija una decisión."}, values, 400)
    if decision != "approve" and not message:
        said = "Escriba qué debe corregir el solicitante o por qué se rechaza."
        return await _desk_case(request, number, {"message": said}, values, 400)
    if len(message) > TEXT_MAX:
        said = f"Debe tener como máximo {TEXT_MAX} caracteres."
        return await _desk_case(request, number, {"message": said}, values, 400)
    body = {"decision": decision, "message": message}
    notice = {
        "approve": "Aprobado; el solicitante y la cuenta reciben la noticia por correo.",
        "request_changes": "Se pidieron cambios al solicitante; el caso sigue abierto.",
        "reject": "Rechazado; el solicitante recibe el motivo por correo.",
    }[decision]
    return await _act(request, number, "activation", body, "message", values, notice)


@router.post("/mesa/casos/{number}/{action}", response_class=HTMLResponse)
async def desk_action(request: Request, number: str, action: str) -> Response:
    if action not in ACTIONS:
        return render(
            request, "error.html", 404, title="No encontrado", message="No existe esa acción."
        )
    if (refused := _not_agent(request, f"/mesa/casos/{number}")) is not None:
        return refused
    form = await checked_form(request)
    path, field, api_name, notice = ACTIONS[action]
    values: dict[str, str] = {}
    body: dict[str, Any] | None = None
    if field and api_name:
        text = str(form.get(field) or "").strip()
        values[field] = text
        if not text or len(text) > TEXT_MAX:
            said = "Escriba el texto." if not text else f"Máximo {TEXT_MAX} caracteres."
            return await _desk_case(request, number, {field: said}, values, 400)
        body = {api_name: text}
    return await _act(request, number, path, body, field, values, notice)


async def _act(
    request: Request,
    number: str,
    path: str,
    body: dict[str, Any] | None,
    field: str | None,
    values: Mapping[str, str],
    notice: str,
) -> Response:
    if case_number(number) != number:
        return render(
            request, "error.html", 404, title="No encontrado", message="No existe ese caso."
        )
    try:
        await web(request).backend.call(
            "support", "POST", f"/cases/{number}/{path}", caller(request), json=body
        )
    except ApiError as error:
        if error.status not in (404, 409, 422):
            raise
        said = desk_refusal(error)
        errors = {field: said} if field and error.status == 422 else {"_": said}
        return await _desk_case(request, number, errors, values, error.status)
    return redirect(f"/mesa/casos/{number}", notice, request)


@router.get("/mesa/casos/{number}/documentos/{doc_type}")
async def case_document(request: Request, number: str, doc_type: str) -> Response:
    """A document of the entity the case is about, as membership lets the agent assigned to
    the open case read it (membership records the read). Membership hears of an assignment
    from support's events, a moment after the agent took the case."""
    if (refused := _not_agent(request)) is not None:
        return refused
    if case_number(number) != number or not re.fullmatch(r"[a-z_]{1,40}", doc_type):
        return render(request, "error.html", 404, title="No encontrado", message="No existe.")
    w, who = web(request), caller(request)
    case = await w.backend.call("support", "GET", f"/cases/{number}", who)
    account = _uuid(case.get("account_id"))
    if not account or doc_type not in {d.get("doc_type") for d in case.get("documents", [])}:
        missing = "El caso no tiene ese documento."
        return render(request, "error.html", 404, title="No encontrado", message=missing)
    try:
        return await pass_download(
            request, "membership", f"/accounts/{account}/documents/{doc_type}"
        )
    except ApiError as error:
        if error.status != 403:
            raise
        return render(
            request, "error.html", 403, title="Documento no disponible", message=NOT_WORKING
        )


def _uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None
