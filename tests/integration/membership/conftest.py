"""Membership test helpers: users made known through registration's real events, and forms."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from secop_contracts import Event
from secop_contracts.registration import UserConfirmed, UserRegistered
from secop_devinfra.infra import Endpoints
from secop_devinfra.keys import DevKeys

from tests.support.kafka import options_for
from tests.support.services import RunningService
from tests.support.tokens import bearer

DIVIPOLA = str(Path(__file__).with_name("divipola_sample.csv"))
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class Person:
    user_id: uuid.UUID
    full_name: str
    email: str
    headers: dict[str, str]


class Registry:
    """Acts as registration: publishes a user's events on the test's topics."""

    def __init__(self, producer: AIOKafkaProducer, keys: DevKeys, uid: str) -> None:
        self.producer, self.keys, self.uid = producer, keys, uid

    async def publish(self, svc: RunningService, event: Event) -> None:
        await self.producer.send_and_wait(
            svc.settings.topic(event.TOPIC), event.to_json(), key=event.key.encode()
        )

    async def person(
        self, svc: RunningService, name: str = "Ana Pérez", *, confirmed: bool = True
    ) -> Person:
        user_id = uuid.uuid4()
        email = f"{name.split()[0].lower()}.{user_id.hex[:6]}@{self.uid}.example.co"
        at = datetime.now(UTC)
        await self.publish(svc, registered(user_id, name, email, at))
        if confirmed:
            await self.publish(
                svc, confirmed_event(user_id, name, email, at + timedelta(seconds=1))
            )
        person = Person(user_id, name, email, bearer(self.keys, user_id=user_id, username=email))
        await wait_for_user(svc, user_id, confirmed=confirmed)
        return person


def registered(user_id: uuid.UUID, name: str, email: str, at: datetime) -> UserRegistered:
    return UserRegistered(
        producer="registration",
        occurred_at=at,
        payload={
            "user_id": user_id,
            "username": email,
            "full_name": name,
            "email": email,
            "country": "CO",
            "document_type": "CC",
            "document_number": "1020304050",
            "mobile_phone": "+573001112233",
            "time_zone": "America/Bogota",
            "account_name": "X",
            "sealed_confirmation_token": "sealed",
            "confirmation_expires_at": at + timedelta(days=1),
            "registered_at": at,
        },
    )


def confirmed_event(user_id: uuid.UUID, name: str, email: str, at: datetime) -> UserConfirmed:
    return UserConfirmed(
        producer="registration",
        occurred_at=at,
        payload={
            "user_id": user_id,
            "username": email,
            "full_name": name,
            "email": email,
            "confirmed_at": at,
        },
    )


async def wait_for_user(
    svc: RunningService, user_id: uuid.UUID, *, confirmed: bool, facts: int = 1
) -> None:
    col = svc.db["user_facts"]
    for _ in range(200):
        docs = await col.find({"user_id": str(user_id)}).to_list()
        if len(docs) >= facts and any(d["confirmed"] for d in docs) >= confirmed:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"user {user_id} never reached membership's view")


async def outbox_drained(svc: RunningService) -> bool:
    """Every stored event has been published (nothing more is on its way)."""
    for name in ("accounts", "memberships"):
        if await svc.db[name].count_documents({"_outbox_pending": {"$exists": True}}):
            return False
    return True


@pytest.fixture
async def registry(infra: Endpoints, dev_keys: DevKeys, uid: str) -> AsyncIterator[Registry]:
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap,
        enable_idempotence=True,
        **options_for(infra.kafka_bootstrap),
    )
    await producer.start()
    try:
        yield Registry(producer, dev_keys, uid)
    finally:
        await producer.stop()


def new_nit() -> str:
    return str(random.randint(800_000_000, 999_999_999))


def supplier_form(nit: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "supplier",
        "legal_name": "Construcciones Ñandú S.A.S.",
        "short_name": "ñandú",
        "nit": nit,
        "department": "CO-ANT",
        "municipality": "Medellín",
        "address": "Cra 1 # 2-3",
        "postal_code": "050001",
        "phone": "6045551234",
        "office_email": "oficina@nandu.co",
        "notification_email": "avisos@nandu.co",
        "business_area": "private",
        "organisation_type": "sas",
        "msme": True,
        "tax_regime": "ordinario",
        "legal_representative": {"full_name": "Rosa Díaz", "document_number": "43123456"},
        **extra,
    }


def entity_form(nit: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "entity",
        "legal_name": "Alcaldía de Bello",
        "short_name": "Bello",
        "nit": nit,
        "department": "Antioquia",
        "municipality": "05088",
        "address": "Calle 52 # 50-13",
        "postal_code": "051050",
        "phone": "6046047000",
        "office_email": "contacto@bello.gov.co",
        "notification_email": "secop@bello.gov.co",
        "business_area": "public",
        "organisation_type": "state_entity",
        "siif_registered": False,
        "spgr_registered": False,
        "decentralised": False,
        "order": "territorial",
        "branch": "Ejecutiva",
        "sector": "Gobierno",
        "entity_type": "Alcaldía",
        **extra,
    }


SUPPLIER_DOCS = (
    "existence_certificate",
    "experience_certificate",
    "financial_statements",
    "capacity_certificate",
)
ENTITY_DOCS = ("structure_act", "spending_authority_act", "admin_authorisation", "rut")


async def upload(
    svc: RunningService,
    who: Person,
    account_id: str,
    doc_type: str,
    content: bytes = PDF,
    filename: str = "documento.pdf",
) -> Any:
    return await svc.client.put(
        f"/accounts/{account_id}/documents/{doc_type}",
        files={"file": (filename, content, "application/pdf")},
        headers=who.headers,
    )


async def ready_account(svc: RunningService, admin: Person, kind: str) -> str:
    """An account created, completed and submitted by ``admin``; returns its id."""
    form = supplier_form(new_nit()) if kind == "supplier" else entity_form(new_nit())
    created = await svc.client.post("/accounts", json=form, headers=admin.headers)
    assert created.status_code == 201, created.text
    account_id = created.json()["account_id"]
    for doc in SUPPLIER_DOCS if kind == "supplier" else ENTITY_DOCS:
        assert (await upload(svc, admin, account_id, doc)).status_code == 201
    submitted = await svc.client.post(f"/accounts/{account_id}/submit", headers=admin.headers)
    assert submitted.status_code == 200, submitted.text
    return account_id
