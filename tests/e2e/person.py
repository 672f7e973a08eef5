"""A person using the platform: HTTP requests, and the emails they receive, links followed."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from secop_devinfra.cluster import ServiceProcs

from tests.support.mailbox import Mailbox, links_in
from tests.support.waiting import eventually

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


# --- steps several journeys share (the e2e tier over HTTP, the browser tier for set-up) ------
ENTITY_DOCUMENTS = ("structure_act", "spending_authority_act", "admin_authorisation", "rut")


def a_nit() -> str:
    return str(random.randint(800_000_000, 999_999_999))


def common_form(person: Person, legal_name: str, nit: str) -> dict[str, Any]:
    return {
        "legal_name": legal_name,
        "short_name": legal_name.split()[0].upper(),
        "nit": nit,
        "document_type": "NIT",
        "department": "CO-CUN",
        "municipality": "Bogotá",
        "address": "Calle 26 # 69-76",
        "phone": "6017956600",
        "postal_code": "111321",
        "office_email": f"oficina.{person.tag}@entidades.example.co",
        "notification_email": f"notificaciones.{person.tag}@entidades.example.co",
    }


async def register_entity(admin: Person) -> tuple[str, dict[str, Any]]:
    nit = a_nit()
    found = await admin.call("membership", "GET", "/accounts", params={"nit": nit})
    assert found.status_code == 200 and found.json() == []  # "Validar si mi entidad ya existe"
    form = {
        **common_form(admin, f"Alcaldía de Prueba {admin.tag}", nit),
        "kind": "entity",
        "business_area": "public",
        "organisation_type": "state_entity",
        "siif_registered": False,
        "spgr_registered": False,
        "decentralised": False,
        "order": "territorial",
        "branch": "Ejecutiva",
        "sector": "Hacienda",
        "entity_type": "Alcaldía",
    }
    account_id, _ = await submit_account(admin, form, ENTITY_DOCUMENTS)
    return account_id, form


async def submit_account(
    person: Person, form: dict[str, Any], documents: Sequence[str]
) -> tuple[str, dict[str, Any]]:
    """Create the account as ``person``, upload a PDF for each document and submit it: its id
    and the submission's answer."""
    created = await person.call("membership", "POST", "/accounts", json=form)
    assert created.status_code == 201, created.text
    account_id = created.json()["account_id"]
    for doc_type in documents:
        up = await person.call(
            "membership",
            "PUT",
            f"/accounts/{account_id}/documents/{doc_type}",
            files={"file": (f"{doc_type}.pdf", PDF, "application/pdf")},
        )
        assert up.status_code == 201, up.text
    submitted = await person.call("membership", "POST", f"/accounts/{account_id}/submit")
    assert submitted.status_code == 200, submitted.text
    return account_id, submitted.json()


async def approve(agent: Person, account_id: str) -> None:
    """The service desk finds the entity's activation case in its queue and approves it."""

    async def activation_case() -> Any:
        queue = await agent.call("support", "GET", "/cases", params={"status": "open"})
        assert queue.status_code == 200, queue.text
        return next((c for c in queue.json()["items"] if c.get("account_id") == account_id), None)

    case = await eventually(activation_case)
    decided = await agent.call(
        "support",
        "POST",
        f"/cases/{case['case_number']}/activation",
        json={"decision": "approve", "message": "Documentos validados"},
    )
    assert decided.status_code == 200, decided.text
