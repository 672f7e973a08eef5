"""Reads Mailpit's API (or the project's SMTP sink, which answers the same subset)."""

from __future__ import annotations

import time
from typing import Any

import httpx


class Mailbox:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of the messages to ``address``, newest first."""
        r = httpx.get(f"{self.url}/api/v1/search", params={"query": f"to:{address}"}, timeout=10)
        r.raise_for_status()
        return r.json()["messages"]

    def message(self, message_id: str) -> dict[str, Any]:
        """One message with ``Subject``, ``Text`` and ``HTML``."""
        r = httpx.get(f"{self.url}/api/v1/message/{message_id}", timeout=10)
        r.raise_for_status()
        return r.json()

    def wait_for(
        self, address: str, *, subject: str = "", count: int = 1, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """The full messages to ``address`` whose subject contains ``subject``, once ``count``
        of them arrived (mail is asynchronous: it follows events through Kafka)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                m for m in self.messages_to(address) if subject.lower() in m["Subject"].lower()
            ]
            if len(found) >= count:
                return [self.message(m["ID"]) for m in found]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} email(s) to {address} with {subject!r} in the subject "
                    f"within {timeout}s; got {len(found)}"
                )
            time.sleep(0.3)
