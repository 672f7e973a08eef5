"""The service desk's pages, with no service behind them: the "Crear caso" form checked in
Spanish before support is called, the queue's filters, the desk's refusals said in Spanish, and
the case keys kept in the session (never in a URL)."""

from __future__ import annotations

import re

import httpx
import pytest
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
