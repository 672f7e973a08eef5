"""The service desk's pages, with no service behind them: the "Crear caso" form checked in
Spanish before support is called, the queue's filters, the desk's refusals said in Spanish, and
the case keys kept in the session (never in a URL), and the opening email's link: its key moved
into the session, support called only once the person types their email (a fake support)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from portal.adapters.backend import ApiError
from portal.app import create_app
from portal.config import Settings
from portal.entrypoints.cases import (
    QUEUE_PAGE,
    SUBJECTS,
    case_number,
    case_request,
    desk_refusal,
    queue_params,
)
from portal.service_layer.session import CASE_KEYS_KEPT, COOKIE, Session, SessionCodec

pytestmark = pytest.mark.unit
KEY = "k" * 40
FORM = {
    "requester.full_name": "Ana María Pérez",
    "requester.document_number": "52.111.222",
    "requester.email": "ana@alcaldia.gov.co",
    "requester.mobile": "+57 300 123 4567",
    "system": "SECOP_II",
    "request_type": "solicitud",
    "subject": "Gestión de registro y configuración de Entidades Estatales",
    "user_type": "comprador",
    "description": "Activación de la cuenta de la Entidad.",
}
ACCOUNT = "0b9f3c1e-4a53-4c55-9d0e-3f6a1f7f2a11"


@pytest.fixture
def client() -> TestClient:
    settings = Settings(portal_session_key=KEY, portal_secure_cookies=False)
    return TestClient(create_app(settings), base_url="http://portal.example.co")


def refusal(status: int, detail: object) -> ApiError:
    return ApiError(httpx.Response(status, json={"detail": detail}))


def test_a_complete_form_becomes_supports_body_with_the_requesters_data_nested():
    body, errors = case_request(FORM)
    assert errors == {}
    assert body["requester"]["full_name"] == "Ana María Pérez"
    assert body["requester"]["email"] == "ana@alcaldia.gov.co"
    assert body["requester"]["entity_name"] == ""
    assert body["subject"] == FORM["subject"] and body["user_type"] == "comprador"
    assert "account_id" not in body and "nit" not in body


def test_each_missing_or_wrong_field_gets_its_own_spanish_error():
    form = {**FORM, "requester.full_name": " ", "requester.email": "ana@", "subject": "Otra cosa"}
    form |= {"requester.phone": "601-555 ext 3", "system": "SECOP_III", "description": ""}
    _, errors = case_request(form)
    assert set(errors) == {
        "requester.full_name",
        "requester.email",
        "subject",
        "requester.phone",
        "system",
        "description",
    }
    assert errors["requester.email"].startswith("Escriba un correo válido")
    assert errors["subject"] == "Elija el asunto de la lista."


def test_the_nit_is_sent_without_dots_and_refused_with_its_check_digit():
    body, errors = case_request({**FORM, "nit": "899.999.001"})
    assert errors == {} and body["nit"] == "899999001"
    _, errors = case_request({**FORM, "nit": "899999001-7"})
    assert errors == {"nit": "Escriba el NIT sin el dígito de verificación."}


def test_only_an_account_of_the_person_may_be_chosen_and_it_brings_its_nit():
    mine = {ACCOUNT: {"account_id": ACCOUNT, "nit": "899999001", "account_name": "ALCALDIA"}}
    body, errors = case_request({**FORM, "account_id": ACCOUNT}, mine)
    assert errors == {} and body["account_id"] == ACCOUNT and body["nit"] == "899999001"
    _, errors = case_request({**FORM, "account_id": ACCOUNT}, {})
    assert set(errors) == {"account_id"}


def test_a_case_number_is_read_as_support_writes_it():
    assert case_number("  cce-2026-000123 ") == "CCE-2026-000123"
    assert case_number("CCE-2026-12") is None
    assert case_number("CCE-2026-000123/../x") is None


def test_the_queue_filters_become_supports_query_and_unknown_values_are_ignored():
    params, values = queue_params("all", SUBJECTS[0], "me", "true", 3)
    assert params == {
        "status": "all",
        "subject": SUBJECTS[0],
        "assignee": "me",
        "overdue": "true",
        "offset": 2 * QUEUE_PAGE,
        "limit": QUEUE_PAGE,
    }
    params, values = queue_params("closed", "x", "someone", "maybe", 1)
    assert params == {"status": "open", "offset": 0, "limit": QUEUE_PAGE}
    assert values == {"estado": "open", "asunto": "", "asignado": "", "vencidos": ""}


def test_supports_refusals_of_the_desk_are_said_in_spanish():
    resolved = refusal(409, "case CCE-2026-000001 is resolved: reopen it before you resolve it")
    assert desk_refusal(resolved) == "El caso está resuelto: reábralo antes de hacerlo."
    unverified = refusal(409, "case X: its requester has not written on it with the key ...")
    assert "clave de su correo" in desk_refusal(unverified)
    not_resolved = refusal(409, "case X is not resolved: nothing to reopen")
    assert desk_refusal(not_resolved).startswith("El caso no está resuelto")
    no_message = refusal(422, "say what the requester must change or why it is rejected")
    assert desk_refusal(no_message).startswith("Escriba el mensaje para el solicitante")
    assert desk_refusal(refusal(409, "something new")).startswith("La Mesa de Servicio no aceptó")


def test_a_browser_keeps_the_keys_of_a_few_cases_the_newest_last_and_encrypted():
    s = Session()
    for n in range(CASE_KEYS_KEPT + 2):
        s.remember_case(f"CCE-2026-{n:06d}", "ana@alcaldia.gov.co", f"key-{n}")
    s.remember_case("CCE-2026-000003", "ana@alcaldia.gov.co", "key-3b")
    assert len(s.case_keys) == CASE_KEYS_KEPT
    assert "CCE-2026-000000" not in s.case_keys and "CCE-2026-000001" not in s.case_keys
    assert list(s.case_keys)[-1] == "CCE-2026-000003"
    assert s.case_keys["CCE-2026-000003"].key == "key-3b"
    s.forget_case("CCE-2026-000003")
    assert "CCE-2026-000003" not in s.case_keys
    cookie = SessionCodec(KEY, 3600).dump(s)
    assert "key-4" not in cookie and "alcaldia" not in cookie
    assert SessionCodec(KEY, 3600).load(cookie).case_keys == s.case_keys


def test_the_form_offers_the_catalogue_and_a_refused_form_keeps_every_value(client):
    page = client.get("/casos/nuevo")
    assert page.status_code == 200 and "<h1>Crear caso</h1>" in page.text
    assert all(subject in page.text for subject in SUBJECTS)
    assert " style=" not in page.text and "<script>" not in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    sent = client.post(
        "/casos/nuevo", data={**FORM, "requester.email": "no-es-correo", "csrf_token": token}
    )
    assert sent.status_code == 400  # refused before support is called (none runs here)
    assert 'href="#f-requester-email"' in sent.text  # the summary links to the field
    assert 'value="Ana María Pérez"' in sent.text and 'value="no-es-correo"' in sent.text
    assert "Activación de la cuenta de la Entidad." in sent.text


def test_a_case_page_without_its_key_in_the_session_asks_for_it_again(client):
    page = client.get("/casos/seguimiento/CCE-2026-000123", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/casos/seguimiento"
    form = client.get("/casos/seguimiento")
    assert "Clave de acceso" in form.text and COOKIE in client.cookies


def test_the_desk_sends_a_stranger_to_log_in(client):
    page = client.get("/mesa/casos", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/ingresar?siguiente=")
    form = client.post("/mesa/casos/CCE-2026-000001/resolver", follow_redirects=False)
    assert form.status_code == 303  # back to the case's page after login, not to the POST's path
    assert form.headers["location"] == "/ingresar?siguiente=%2Fmesa%2Fcasos%2FCCE-2026-000001"


# -- the opening email's link ------------------------------------------------------------------
NUMBER = "CCE-2026-000123"
CASE_KEY = "Zq3-x_Y8kLmN0pQrStUvWx12"  # as support makes them: 24 URL-safe characters
EMAIL = "ana@alcaldia.gov.co"
LINK = f"/casos/seguimiento/enlace?caso={NUMBER.lower()}&clave={CASE_KEY}"


def support_like(calls: list[dict[str, str | None]]) -> FastAPI:
    """Support's requester read as far as the follow page goes: the case for its email and
    key, 404 otherwise, 429 for the address that has tried too often. Every call is kept."""
    app = FastAPI()

    @app.get("/cases/{number}")
    async def read_case(number: str, request: Request) -> JSONResponse:
        email, key = request.query_params.get("email"), request.headers.get("x-case-key")
        calls.append({"number": number, "email": email, "key": key})
        if email == "prisa@alcaldia.gov.co":
            return JSONResponse({"detail": "too many"}, 429, headers={"Retry-After": "30"})
        if (number, email, key) == (NUMBER, EMAIL, CASE_KEY):
            return JSONResponse({"case_number": number})
        return JSONResponse({"detail": "case not found"}, 404)

    return app


@pytest.fixture
def calls() -> list[dict[str, str | None]]:
    return []


@pytest.fixture
def linked(calls: list[dict[str, str | None]]) -> TestClient:
    """The portal with support faked behind it, and a browser that followed the email's link."""
    settings = Settings(portal_session_key=KEY, portal_secure_cookies=False)
    app = create_app(settings)
    app.state.web.backend._clients["support"]._transport = httpx.ASGITransport(support_like(calls))
    client = TestClient(app, base_url="http://portal.example.co")
    followed = client.get(LINK, follow_redirects=False)
    assert followed.status_code == 303
    return client


def kept(client: TestClient) -> Session:
    """What the browser's encrypted cookie holds."""
    session = SessionCodec(KEY, 3600).load(client.cookies.get(COOKIE))
    assert session is not None
    return session


def follow_form(client: TestClient, **fields: str) -> httpx.Response:
    page = client.get("/casos/seguimiento")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"number": NUMBER, "email": EMAIL, **fields, "csrf_token": token}
    return client.post("/casos/seguimiento", data=form, follow_redirects=False)


def test_the_emails_link_keeps_the_key_in_the_session_and_sends_the_browser_to_the_bare_page(
    calls,
):
    client = TestClient(
        create_app(Settings(portal_session_key=KEY, portal_secure_cookies=False)),
        base_url="http://portal.example.co",
    )
    answer = client.get(LINK, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/casos/seguimiento"
    session = kept(client)
    assert session.linked_case is not None
    assert (session.linked_case.number, session.linked_case.key) == (NUMBER, CASE_KEY)
    assert session.case_keys == {}  # not followed: the email is not checked yet
    assert CASE_KEY not in client.cookies[COOKIE]  # encrypted


def test_the_follow_page_after_the_link_asks_only_for_the_email_and_never_shows_the_key(linked):
    page = linked.get("/casos/seguimiento")
    assert page.status_code == 200
    assert CASE_KEY not in page.text
    assert f'id="f-number" name="number" type="text" value="{NUMBER}"' in page.text
    assert "llegó con el enlace del correo" in page.text
    assert '<input id="f-key" name="key" type="text" value="" required' not in page.text


def test_following_the_link_does_not_call_support(linked, calls):
    assert linked.get("/casos/seguimiento").status_code == 200
    assert linked.get(LINK).status_code == 200  # again, redirected to the page
    assert calls == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"caso={NUMBER}",
        f"clave={CASE_KEY}",
        f"caso=CCE-2026-12&clave={CASE_KEY}",
        f"caso={NUMBER}/../x&clave={CASE_KEY}",
        f"caso={NUMBER}&clave=corta",
        f"caso={NUMBER}&clave=con%20espacio%20en%20medio",
        f"caso={NUMBER}&clave={'k' * 101}",
    ],
)
def test_a_broken_link_is_refused_in_spanish_and_keeps_nothing(linked, calls, query):
    answer = linked.get(f"/casos/seguimiento/enlace?{query}", follow_redirects=False)
    assert answer.status_code == 400
    assert "El enlace está incompleto o dañado" in answer.text and 'role="alert"' in answer.text
    assert kept(linked).linked_case is None  # the earlier link's case is dropped too
    assert CASE_KEY not in answer.text and calls == []


def test_the_email_alone_follows_the_linked_case_with_the_key_the_link_brought(linked, calls):
    answer = follow_form(linked)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/casos/seguimiento/{NUMBER}"
    assert calls == [{"number": NUMBER, "email": EMAIL, "key": CASE_KEY}]
    session = kept(linked)
    assert session.case_keys[NUMBER].key == CASE_KEY and session.case_keys[NUMBER].email == EMAIL
    assert session.linked_case is None


def test_a_wrong_email_is_refused_as_any_wrong_data_and_the_linked_key_stays_for_a_retry(
    linked, calls
):
    refused = follow_form(linked, email="otra@alcaldia.gov.co")
    assert refused.status_code == 404 and "No encontramos un caso" in refused.text
    assert CASE_KEY not in refused.text
    session = kept(linked)
    assert session.case_keys == {} and session.linked_case is not None
    again = follow_form(linked)
    assert again.status_code == 303 and again.headers["location"].endswith(NUMBER)
    assert [c["key"] for c in calls] == [CASE_KEY, CASE_KEY]


def test_supports_throttle_is_shown_and_the_linked_key_kept(linked):
    slowed = follow_form(linked, email="prisa@alcaldia.gov.co")
    assert slowed.status_code == 429 and "Demasiados intentos" in slowed.text
    assert "30 segundos" in slowed.text and kept(linked).linked_case is not None


def test_a_typed_key_wins_over_the_linked_one_and_another_number_needs_its_own(linked, calls):
    typed = follow_form(linked, key="clave-escrita-1234")
    assert typed.status_code == 404
    assert calls[-1]["key"] == "clave-escrita-1234"
    other = follow_form(linked, number="CCE-2026-000999")  # the link's key is not this case's
    assert other.status_code == 400 and calls[-1]["key"] == "clave-escrita-1234"
    assert "Escriba la clave de acceso" in other.text
