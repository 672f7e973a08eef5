"""Helpers for notification's integration tests: produce events, watch deliveries, a local
SMTP server the test controls (to stop it, or make it refuse)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from secop_contracts import Event
from secop_devinfra.procs import free_port

from tests.support.kafka import produce_raw
from tests.support.services import TEST_OPERATOR_TOKEN, RunningService

OPERATOR = {"Authorization": f"Bearer {TEST_OPERATOR_TOKEN}"}

#: Fast retries and polling so tests take seconds, not minutes.
FAST = {
    "retry_backoff_base_s": 0.2,
    "retry_backoff_max_s": 1.0,
    "sender_poll_interval_s": 0.2,
    "smtp_outage_backoff_max_s": 0.5,
    "smtp_timeout_s": 5.0,
}


async def produce(service: RunningService, event: Event) -> None:
    await produce_raw(
        service.settings.kafka_bootstrap_servers,
        service.settings.topic(event.TOPIC),
        event.to_json(),
        key=event.key.encode(),
    )


class Collecting:
    """An aiosmtpd handler that keeps messages and refuses recipients starting with 'reject'."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("reject"):
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[bytes]:
        return [body for rcpt, body in self.messages if address in rcpt]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def local_smtp(smtp_port: int) -> Iterator[Callable[[], Collecting]]:
    """``start()`` runs an SMTP server on ``smtp_port`` (nothing listens there before)."""
    started: list[Controller] = []
    handler = Collecting()

    def start() -> Collecting:
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        started.append(controller)
        return handler

    yield start
    for controller in started:
        with contextlib.suppress(Exception):
            controller.stop()
