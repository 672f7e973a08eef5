"""What an attacker could make the portal do to someone else: one person's registration device
cookie sent for another, an id from the page's address naming another route of a service, and
a site behind a TLS proxy refusing its own forms."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from portal.adapters.backend import Backend, Caller
from portal.app import create_app
from portal.config import Settings
from portal.entrypoints.account_common import seg

pytestmark = pytest.mark.unit
KEY = "k" * 40


def registration_like() -> FastAPI:
    """Registration's login as far as cookies go: a new device gets ``secop_device``."""
    app = FastAPI()

    @app.post("/sessions")
    async def log_in(request: Request, response: Response) -> dict[str, str | None]:
        response.set_cookie("secop_device", "d1.dev.OWNER.1.mac", httponly=True, samesite="strict")
        return {"cookie": request.headers.get("cookie")}

    return app


async def test_one_persons_device_cookie_is_never_sent_for_another():
    """The services' clients are shared by everyone: a cookie kept by httpx would be sent with
    the next stranger's login, and registration would let the stranger try the owner's
    password as the owner's known browser (not locked out with the strangers)."""
    backend = Backend(Settings(portal_session_key=KEY, registration_url="http://registration"))
    backend._clients["registration"]._transport = httpx.ASGITransport(registration_like())
    try:
        owner = Caller(address="192.0.2.1")
        await backend.request("registration", "POST", "/sessions", owner)
        assert owner.new_device == "d1.dev.OWNER.1.mac"  # the owner's session keeps it
        stranger = Caller(address="198.51.100.7")
        seen = await backend.request("registration", "POST", "/sessions", stranger)
        assert seen.json()["cookie"] is None
        again = Caller(
            address="192.0.2.1", device=owner.new_device
        )  # only from the owner's session
        seen = await backend.request("registration", "POST", "/sessions", again)
        assert seen.json()["cookie"] == "secop_device=d1.dev.OWNER.1.mac"
    finally:
        await backend.close()


@pytest.mark.parametrize("dots", [".", ".."])
def test_a_dot_segment_id_cannot_climb_to_another_route_of_membership(dots):
    """httpx resolves ``.`` and ``..`` segments: ``/accounts/A/invitations/..`` (revoking an
    invitation) would become ``DELETE /accounts/A`` (discarding the draft), and a document
    ``..`` would download the account's whole record."""
    path = f"/accounts/A/invitations/{seg(dots)}"
    url = httpx.Client(base_url="http://membership").build_request("DELETE", path).url
    assert url.raw_path.startswith(b"/accounts/A/invitations/")
    assert seg("x.pdf") == "x%2Epdf" and seg("ab-1_c") == "ab-1_c"


def test_a_form_posted_to_the_public_address_behind_a_tls_proxy_is_accepted():
    """Behind a proxy that ends TLS the portal is reached over http, but the browser's Origin
    is the public https address: it is this site, not another."""
    settings = Settings(
        portal_session_key=KEY,
        portal_secure_cookies=False,
        public_base_url="https://portal.example.co",
    )
    client = TestClient(create_app(settings), base_url="http://portal.example.co")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ingresar").text)[1]
    form = {"csrf_token": token, "username": "", "password": ""}
    own = client.post("/ingresar", data=form, headers={"Origin": "https://portal.example.co"})
    assert own.status_code == 400  # read (and its empty fields refused), not 403
    other = client.post("/ingresar", data=form, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    look_alike = client.post(
        "/ingresar", data=form, headers={"Origin": "https://portal.example.co.evil.example"}
    )
    assert look_alike.status_code == 403


def test_the_public_cannot_read_the_portals_metrics_through_the_ingress():
    """The portal's Ingress routes every path (a standard Ingress cannot leave one out), so
    /metrics answers only Prometheus, which scrapes the pod directly: a request that came
    through a proxy (X-Forwarded-For) gets a 404."""
    with TestClient(create_app(Settings(portal_session_key=KEY))) as client:
        assert client.get("/metrics").status_code == 200
        public = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert public.status_code == 404
        assert "secop_http_requests_total" not in public.text
