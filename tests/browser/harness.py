"""What a browser test needs beside its page: the browser, screenshots, page problems, axe-core.

- Debian's Chromium (``/usr/bin/chromium``), driven by Playwright; never a downloaded browser.
- Every page a test lands on is saved, full page, as
  ``test-artifacts/screenshots/<test>/<nn>-<path slug>.png`` (gitignored).
- CSP violations and uncaught errors the page reports fail the test.
- ``assert_accessible(page)`` runs axe-core inside the page and fails on any violation of impact
  ``serious`` or ``critical``. The script goes in through ``page.evaluate`` (DevTools runs it
  outside the page's Content-Security-Policy), so the portal's CSP stays on in every test.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from playwright.async_api import ConsoleMessage, Error, Page
from secop_devinfra import installs
from secop_devinfra.paths import repo_root

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = repo_root() / "test-artifacts" / "screenshots"
#: axe-core impacts that fail a test (the others: minor, moderate).
FAILING_IMPACTS = ("serious", "critical")


def launch_args() -> list[str]:
    """Chromium's sandbox cannot start as root (this project's machines run tests as root)."""
    return ["--no-sandbox"] if os.geteuid() == 0 else []


def slug(text: str, fallback: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:80] or fallback


@dataclass
class PageLog:
    """One test's page: its screenshots and the problems it reported."""

    folder: Path
    taken: int = 0
    pending: list[asyncio.Task[None]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def on_load(self, page: Page) -> None:
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{slug(urlsplit(page.url).path, 'inicio')}.png"
        self.pending.append(asyncio.ensure_future(self._shoot(page, path)))

    async def _shoot(self, page: Page, path: Path) -> None:
        try:
            await page.screenshot(path=path, full_page=True)
        except Error as exc:  # the test navigated on before the page could be captured
            self.missed.append(f"{path.name}: {exc.message.splitlines()[0]}")

    def on_console(self, message: ConsoleMessage) -> None:
        if "content security policy" in message.text.lower():
            self.problems.append(f"CSP violation ({message.type}): {message.text}")

    def on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught page error: {error.message}")

    async def settle(self) -> None:
        """Wait for the screenshots already started."""
        pending, self.pending = self.pending, []
        await asyncio.gather(*pending)


_logs: WeakKeyDictionary[Page, PageLog] = WeakKeyDictionary()


def watch(page: Page, test_name: str) -> PageLog:
    """Screenshot every page ``page`` lands on and collect its problems, for one test."""
    folder = SCREENSHOTS / slug(test_name, "test")
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pages
    folder.mkdir(parents=True)
    log = _logs[page] = PageLog(folder)
    page.on("load", log.on_load)
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    return log


async def finish(page: Page) -> None:
    """After the test: every screenshot written; fail on the problems the page reported."""
    log = _logs.pop(page)
    await log.settle()
    if log.missed:
        warnings.warn(f"pages not captured: {log.missed}", stacklevel=1)
    if log.problems:
        raise AssertionError("the page reported problems:\n  " + "\n  ".join(log.problems))


@cache
def axe_source() -> str:
    return installs.axe_core().read_text()


async def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is now: no violation of impact serious or critical."""
    if page in _logs:
        await _logs[page].settle()  # the screenshot shows the page axe checked
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    violations = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                        targets: v.nodes.map(n => n.target.join(' '))}))"""
    )
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    lines = [
        f"{v['impact']}: {v['id']} ({v['help']}; {v['url']}) at {v['targets'][:5]}" for v in failing
    ]
    assert not failing, f"accessibility violations on {page.url}:\n  " + "\n  ".join(lines)
