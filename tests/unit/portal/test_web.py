"""The portal's own rules, with no service behind it: the session cookie, CSRF, headers, and
where a login may send the person back to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from portal.app import create_app
from portal.config import Settings
from portal.entrypoints.web import safe_next
from portal.service_layer import dates
from portal.service_layer.session import COOKIE, Session, SessionCodec, SignedIn

pytestmark = pytest.mark.unit
KEY = "k" * 40


@pytest.fixture
def client() -> TestClient:
    settings = Settings(portal_session_key=KEY, portal_secure_cookies=True)
    return TestClient(create_app(settings), base_url="https://portal.example.co")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_pages_carry_a_strict_policy_and_an_httponly_secure_samesite_cookie(client):
    page = client.get("/ingresar")
    assert page.status_code == 200 and "<h1>Ingresar</h1>" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(client):
    page = client.get("/ingresar")
    token = csrf_of(page.text)
    missing = client.post("/ingresar", data={"username": "ana", "password": "x"})
    assert missing.status_code == 403 and "Formulario vencido" in missing.text
    forged = client.post("/ingresar", data={"username": "a", "password": "x", "csrf_token": "no"})
    assert forged.status_code == 403
    elsewhere = client.post(
        "/ingresar",
        data={"csrf_token": token, "username": "", "password": ""},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    # the right token, from this site: the form is read (and its empty fields refused)
    empty = client.post(
        "/ingresar",
        data={"csrf_token": token, "username": "", "password": ""},
        headers={"Origin": "https://portal.example.co"},
    )
    assert empty.status_code == 400
    assert "Escriba su usuario." in empty.text and 'aria-invalid="true"' in empty.text
    assert 'href="#f-username"' in empty.text  # the summary links to the field


def test_the_cookie_cannot_be_read_forged_or_replayed_after_its_life():
    codec = SessionCodec(KEY, max_age_s=60)
    at = datetime.now(UTC) + timedelta(minutes=5)
    session = Session(
        user=SignedIn(access_token="secret-token", expires_at=at, user_id="u", username="ana")
    )
    cookie = codec.dump(session)
    assert "secret-token" not in cookie
    assert codec.load(cookie).user.access_token == "secret-token"
    assert codec.load(cookie[:-4] + "AAAA") is None  # altered
    assert SessionCodec("x" * 40, 60).load(cookie) is None  # another key
    assert SessionCodec(KEY, max_age_s=-1).load(cookie) is None  # too old


def test_signed_out_pages_send_the_person_to_log_in_and_back(client):
    answer = client.get("/mis-registros", follow_redirects=False)
    assert answer.status_code in (303, 404)  # 404 until the page exists


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/mis-registros", "/mis-registros"),
        ("/cuentas/1?x=2", "/cuentas/1?x=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_login_only_a_path_of_this_site(target, expected):
    assert safe_next(target) == expected


def test_dates_are_shown_in_bogota():
    at = datetime(2026, 12, 2, 15, 5, tzinfo=UTC)
    assert dates.fecha_hora(at) == "2 de diciembre de 2026, 10:05 a. m."
    assert dates.fecha("2026-01-01T03:00:00Z") == "31 de diciembre de 2025"


def test_a_page_address_out_of_bounds_is_a_spanish_page_repeating_nothing(client):
    token = "t" * 600  # longer than any link's
    answer = client.get("/ingresar", params={"siguiente": token})
    assert answer.status_code == 400 and "Dirección no válida" in answer.text
    assert token not in answer.text and answer.headers["content-type"].startswith("text/html")


def test_a_download_started_by_another_site_is_refused(client):
    """A link elsewhere would read a document in the person's name (recorded, and shown to the
    account's administrators): refused before any service is called (none runs here)."""
    at = datetime.now(UTC) + timedelta(minutes=10)
    user = SignedIn(access_token="t", expires_at=at, user_id="u", username="ana")
    client.cookies.set(COOKIE, SessionCodec(KEY, 3600).dump(Session(user=user)))
    answer = client.get(
        "/proveedores/00000000-0000-0000-0000-000000000000/documentos/rut",
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403 and "Descarga no permitida" in answer.text
