"""The portal in a real browser, on the end-to-end tier's cluster (tests/conftest.py's ``cluster``).

``./dev test`` provisions Debian's Chromium and axe-core before its first phase; a chosen run
provisions them here when it can (as root). Only where Chromium cannot be installed (no root,
not Debian) are the tests skipped, saying so; on CI (``CI`` set) that fails instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from secop_devinfra import system
from secop_devinfra.cluster import PORTAL, ServiceProcs

from tests.browser import harness


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, with axe-core beside it (both provisioned here if missing)."""
    try:
        system.provision(("browser",))
    except system.ProvisionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests need Debian's Chromium:\n{exc}")
        pytest.skip(f"Debian's Chromium ({harness.CHROMIUM}) cannot be installed here:\n{exc}")
    harness.axe_source()  # installed once, before any page waits for it
    return harness.CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=harness.launch_args()
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def portal_url(cluster: ServiceProcs) -> str:
    return cluster.url(PORTAL)


@pytest.fixture
async def page(
    browser: Browser, portal_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) in Colombian Spanish and Bogotá's time, at the
    portal; every page it lands on is screenshotted, and a CSP violation or an uncaught error
    in it fails the test."""
    context = await browser.new_context(
        locale="es-CO", timezone_id="America/Bogota", base_url=portal_url
    )
    opened = await context.new_page()
    harness.watch(opened, request.node.name)
    try:
        yield opened
        await harness.finish(opened)
    finally:
        await context.close()
