"""The portal answers a real browser: Spanish pages, accessible, under a strict CSP and a
session cookie scripts cannot read."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, Response

from tests.browser.harness import assert_accessible

pytestmark = pytest.mark.browser


def assert_strict_csp(response: Response) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert policy, f"{response.url} has no Content-Security-Policy"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    assert "script-src 'self'" in policy or "default-src 'self'" in policy, policy


async def test_the_home_and_login_pages_are_spanish_accessible_and_strictly_protected(
    page: Page, portal_url: str
) -> None:
    home = await page.goto("/")
    assert home is not None and home.status == 200
    assert await page.evaluate("document.documentElement.lang") == "es-CO"
    assert "Inicio" in await page.title() and "SECOP II" in await page.title()
    assert_strict_csp(home)
    await assert_accessible(page)

    login = await page.goto("/ingresar")
    assert login is not None and login.status == 200
    assert "Ingresar" in await page.title()
    assert await page.get_by_label("Contraseña").count() == 1
    assert_strict_csp(login)
    await assert_accessible(page)

    # The session cookie (it carries the form's CSRF token): HttpOnly, SameSite, the portal's.
    set_cookies = [
        h["value"] for h in await login.headers_array() if h["name"].lower() == "set-cookie"
    ] + [h["value"] for h in await home.headers_array() if h["name"].lower() == "set-cookie"]
    assert set_cookies, "no session cookie was set by / or /ingresar"
    for header in set_cookies:
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert {"httponly", "samesite"} <= attributes, header
    cookies = await page.context.cookies(portal_url)
    assert cookies and all(c["httpOnly"] and c["sameSite"] in ("Lax", "Strict") for c in cookies)
    assert await page.evaluate("document.cookie") == ""  # scripts cannot read it
