"""The support service's use cases on fakes: a context whose stores live in memory."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from secop_contracts import Event
from secop_contracts.support import CaseOpened, Requester
from secop_runtime.sealing import generate_keypair, open_sealed
from support.adapters.fakes import FakeCases, FakeRateLimiter
from support.config import Settings
from support.service_layer.context import Context
from support.service_layer.opening import NewCase, open_case

from tests.unit.support.cases import NOW


@dataclass
class Desk:
    """A context on fakes, its clock, and what the tests read back."""

    ctx: Context
    cases: FakeCases
    limiter: FakeRateLimiter
    seal_private: str

    def at(self, now: datetime) -> None:
        self.ctx.now = lambda: now  # type: ignore[method-assign]

    def settings(self, **changes: Any) -> None:
        self.ctx.settings = self.ctx.settings.model_copy(update=changes)

    def events(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.cases.events if isinstance(e, kind)]

    def key_of(self, opened: Any) -> str:
        """The access key the opening email carries (notification opens the sealed copy)."""
        return open_sealed(self.seal_private, opened.payload.sealed_access_key)

    async def open(self, email: str = "ana@example.co", **fields: Any) -> tuple[str, str]:
        """Open a web case; its number and its access key."""
        new = NewCase(**(web_case(email) | fields))
        case = await open_case(self.ctx, new)
        opened = next(e for e in self.events(CaseOpened) if e.payload.case_number == case.id)
        return case.id, self.key_of(opened)


def web_case(email: str = "ana@example.co") -> dict[str, Any]:
    return {
        "requester": Requester(full_name="Ana María Pérez", email=email, document_number="1020"),
        "system": "SECOP_II",
        "request_type": "solicitud",
        "subject": "Otros",
        "user_type": "comprador",
        "description": "No puedo ingresar.",
        "source_key": f"web:{uuid.uuid4()}",
    }


@pytest.fixture
def desk() -> Desk:
    private, public = generate_keypair()
    settings = Settings(notification_seal_public_key=public)
    cases, limiter = FakeCases(), FakeRateLimiter()
    d = Desk(Context(settings, cases, limiter), cases, limiter, private)
    d.at(NOW)
    return d
