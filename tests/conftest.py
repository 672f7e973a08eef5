"""Fixtures shared by every tier; ``tests/support/infra.py`` says how infrastructure is chosen."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from secop_devinfra.infra import Endpoints
from secop_devinfra.keys import DevKeys, generate

from tests.support.infra import provision
from tests.support.kafka import use_security
from tests.support.mailbox import Mailbox
from tests.support.services import RunningService, run_service, settings_for


@pytest.fixture(scope="session")
def infra() -> Iterator[Endpoints]:
    with provision() as endpoints:
        use_security(endpoints)
        yield endpoints


@pytest.fixture(scope="session")
def dev_keys() -> DevKeys:
    return generate(kid="test-1")


@pytest.fixture
def uid() -> str:
    """A short unique id for this test: topic prefix, database names, usernames."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def mailbox(infra: Endpoints) -> Mailbox:
    return Mailbox(infra.mailbox_url)


StartService = Callable[..., Awaitable[RunningService]]


@pytest.fixture
async def start_service(
    infra: Endpoints, dev_keys: DevKeys, uid: str
) -> AsyncIterator[StartService]:
    """Start a service's real app in-process: ``await start_service("membership", **overrides)``.

    Services started in one test share its topic prefix, so they talk to each other.
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(name: str, **overrides: Any) -> RunningService:
            settings = settings_for(name, infra, dev_keys, uid, **overrides)
            return await stack.enter_async_context(run_service(name, settings))

        yield start
