"""The membership service's use cases over the fakes: a context with no database or broker."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from membership.adapters.fakes import (
    FakeAccountQueries,
    FakeCaseArchive,
    FakeDocumentReads,
    FakeFiles,
    FakeInvitationRecipients,
    FakeNitClaims,
    FakeUsers,
    memory_accounts,
    memory_library,
)
from membership.config import Settings
from membership.domain.accounts import Account
from membership.domain.cases import AccountCase
from membership.domain.location import Municipalities
from membership.service_layer.context import Context
from secop_runtime.aggregates import MemoryStore
from secop_runtime.auth import Principal

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SUPPLIER_DOCS = (
    "existence_certificate",
    "experience_certificate",
    "financial_statements",
    "capacity_certificate",
)
ENTITY_DOCS = ("structure_act", "spending_authority_act", "admin_authorisation", "rut")


class RacingStore(MemoryStore[Account]):
    """The memory store, letting other tasks run between a load and its save: requests sent
    at once (``asyncio.gather``) then race as they do against the database."""

    async def get(self, aggregate_id: str) -> Account | None:
        found = await super().get(aggregate_id)
        await asyncio.sleep(0)
        return found


class RacingQueries(FakeAccountQueries):
    async def of_member(self, user_id: str) -> list[Account]:
        found = await super().of_member(user_id)
        await asyncio.sleep(0)
        return found


def fake_context(**settings: Any) -> Context:
    accounts = memory_accounts(RacingStore)
    cases = MemoryStore(AccountCase)
    return Context(
        settings=Settings(**settings),
        accounts=accounts,
        queries=RacingQueries(accounts),
        nit_claims=FakeNitClaims(accounts),
        files=FakeFiles(),
        users=FakeUsers(),
        document_reads=FakeDocumentReads(),
        municipalities=Municipalities(),
        recipients=FakeInvitationRecipients(),
        cases=cases,
        case_archive=FakeCaseArchive(cases),
        library=memory_library(),
    )


@pytest.fixture
def ctx() -> Context:
    return fake_context()


@dataclass
class People:
    """Users the local view knows, and their principals (what a verified token gives)."""

    ctx: Context

    def __call__(self, name: str, *roles: str) -> Principal:
        user_id = uuid.uuid4()
        email = f"{name.split()[0].lower()}.{user_id.hex[:6]}@example.co"
        self.ctx.users.know(user_id, name, email)  # type: ignore[attr-defined]
        at = datetime.now(UTC)
        return Principal(
            user_id=user_id,
            username=email,
            roles=frozenset(roles),
            session_id=uuid.uuid4().hex,
            issued_at=at,
            expires_at=at + timedelta(minutes=15),
            token="",  # nothing verifies it here
        )


@pytest.fixture
def person(ctx: Context) -> People:
    return People(ctx)


def stranger() -> Principal:
    """A valid token for a user the local view has not heard of yet."""
    at = datetime.now(UTC)
    return Principal(uuid.uuid4(), "x@example.co", frozenset(), "s", at, at, "")


def supplier_form(nit: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "supplier",
        "legal_name": "Construcciones Ñandú S.A.S.",
        "short_name": "ñandú",
        "nit": nit,
        "document_type": "NIT",
        "country": "CO",
        "department": "CO-ANT",
        "municipality": "Medellín",
        "address": "Cra 1 # 2-3",
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
        "document_type": "NIT",
        "country": "CO",
        "department": "Antioquia",
        "municipality": "Bello",
        "address": "Calle 52 # 50-13",
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
