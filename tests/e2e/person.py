"""A person using the platform: HTTP requests, and the emails they receive, links followed."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from secop_devinfra.cluster import ServiceProcs

from tests.support.mailbox import Mailbox, links_in

PASSWORD = "Compras-Publicas-2026!"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def token_from(link: str, name: str) -> str:
    return parse_qs(urlparse(link).query)[name][0]


@dataclass
class Person:
    cluster: ServiceProcs
    mailbox: Mailbox
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    password: str = PASSWORD
    access_token: str = ""
    user_id: str = ""

    @property
    def username(self) -> str:
        return f"p.{self.tag}"

    @property
    def email(self) -> str:
        return f"{self.tag}@personas.example.co"

    @property
    def document_number(self) -> str:
        return str(int(self.tag, 16) % 10**10).rjust(10, "1")

    def client(self, service: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}
        return httpx.AsyncClient(base_url=self.cluster.url(service), headers=headers, timeout=30)

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self.client(service) as c:
            return await c.request(method, path, **kwargs)

    async def sign_up(self, account_name: str = "ALCALDIA DE PRUEBA") -> None:
        r = await self.call(
            "registration",
            "POST",
            "/users",
            json={
                "full_name": f"Persona {self.tag}",
                "country": "CO",
                "document_type": "CC",
                "document_number": self.document_number,
                "email": self.email,
                "username": self.username,
                "password": self.password,
                "password_confirmation": self.password,
                "security_question": "Ciudad natal",
                "security_answer": "Bogotá",
                "mobile_phone": "+57300" + self.document_number[-7:],
                "time_zone": "(UTC-05:00) Bogotá, Lima, Quito",
                "account_name": account_name,
                "accept_terms": True,
            },
        )
        assert r.status_code == 201, r.text
        self.user_id = r.json()["user_id"]

    async def confirm_from_email(self) -> None:
        [message] = await self.mailbox.wait_for(
            self.email, subject="Activación de su registro", timeout=60
        )
        [link] = [u for u in links_in(message) if "ConfirmAccount" in u]
        async with httpx.AsyncClient(timeout=30) as browser:  # a mail scanner or the person
            assert (await browser.get(link)).status_code == 200
        token = token_from(link, "ConfirmationGuid")
        r = await self.call("registration", "POST", "/users/confirmation", json={"token": token})
        assert r.status_code == 200 and r.json()["status"] == "active", r.text

    async def log_in(self) -> None:
        r = await self.call(
            "registration",
            "POST",
            "/sessions",
            json={"username": self.username, "password": self.password},
        )
        assert r.status_code == 200, r.text
        self.access_token = r.json()["access_token"]

    async def become_user(self) -> Person:
        await self.sign_up()
        await self.confirm_from_email()
        await self.log_in()
        return self

    def grant_role(self, role: str) -> None:
        """The operator's command, run the way an operator runs it against the live cluster."""
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "registration", "grant-role", self.username, role],
            env=self.cluster.env_for("registration"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    async def emails(self, subject: str, count: int = 1, timeout: float = 60) -> list[dict]:
        return await self.mailbox.wait_for(
            self.email, subject=subject, count=count, timeout=timeout
        )
