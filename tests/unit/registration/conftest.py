"""The registration context assembled from fakes (``registration.adapters.fakes``): use cases
run in microseconds, with no database, broker or argon2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from registration.adapters.fakes import FakeFacts, FakeHasher, fake_adapters
from registration.config import Settings
from registration.service_layer.context import Context
from secop_contracts import Event
from secop_devinfra.keys import DevKeys
from secop_runtime.sealing import open_sealed

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Registration:
    """A context on fakes, and what a test reads back from it."""

    ctx: Context
    clock: Clock
    keys: DevKeys

    def events(self, event_type: str) -> list[Event]:
        """Every event of one type the users' writes stored, in order."""
        return [e for e in self.ctx.users.events if e.event_type == event_type]

    def opened(self, event: Event, field: str) -> str:
        """A sealed link token, opened as notification would."""
        return open_sealed(self.keys.seal_private, getattr(event.payload, field))


@pytest.fixture
def registration(dev_keys: DevKeys) -> Registration:
    settings = Settings(
        jwt_private_key=dev_keys.jwt_private_pem,
        jwt_public_keys=dev_keys.jwks,
        notification_seal_public_key=dev_keys.seal_public,
    )
    ctx = Context.assemble(settings, FakeHasher(), FakeFacts(), **fake_adapters())
    clock = Clock()
    ctx.clock = clock
    return Registration(ctx, clock, dev_keys)
