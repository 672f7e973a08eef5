"""Reads the SMTP sink (or Mailpit: the same API subset) and waits for asynchronous mail."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

LINK = re.compile(r"https?://[^\s\"'<>]+")


class Mailbox:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def messages_to(self, address: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(f"{self.url}/api/v1/search", params={"query": f"to:{address}"})
            r.raise_for_status()
            return r.json()["messages"]

    async def message(self, message_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(f"{self.url}/api/v1/message/{message_id}")
            r.raise_for_status()
            return r.json()

    async def wait_for(
        self, address: str, *, count: int = 1, subject: str = "", timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """The full messages to ``address`` (newest first) once at least ``count`` arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [
                m
                for m in await self.messages_to(address)
                if subject.lower() in m["Subject"].lower()
            ]
            if len(found) >= count:
                return [await self.message(m["ID"]) for m in found]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"expected {count} email(s) to {address} with subject containing "
                    f"{subject!r} within {timeout}s; got {len(found)}"
                )
            await asyncio.sleep(0.2)


def links_in(message: dict[str, Any]) -> list[str]:
    return LINK.findall(message.get("Text", "")) or LINK.findall(message.get("HTML", ""))
