"""Fixtures shared by every tier; ``tests/support/infra.py`` says how infrastructure is chosen.

The whole cluster as processes (``local_infra``, ``cluster``, ``e2e_mailbox``) is shared by the
end-to-end tier and the browser tier (tests/e2e, tests/browser): one cluster per session.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from secop_devinfra.cluster import PORTAL, SERVICES, ServiceProcs
from secop_devinfra.infra import Endpoints, LocalInfra, Ports
from secop_devinfra.keys import DevKeys, generate
from secop_devinfra.procs import free_ports

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


# --- the whole cluster as separate processes (tests/e2e, tests/browser) ------------------------


@pytest.fixture(scope="session")
def local_infra() -> Iterator[LocalInfra]:
    """Local infrastructure of the cluster's own (Kafka, FerretDB, the SMTP sink), so fault
    tests can kill and restart any of it without disturbing other tests."""
    data = Path(tempfile.mkdtemp(prefix="secop-e2e-"))
    infra = LocalInfra(data, Ports(*free_ports(5)))
    use_security(infra.start())
    try:
        yield infra
    finally:
        infra.stop()


@pytest.fixture(scope="session")
def cluster(
    local_infra: LocalInfra, dev_keys: DevKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcs]:
    """The four services and the portal as ``python -m <name>`` children, started the way
    ``./dev up`` starts them, on free ports, with a topic and database prefix of their own."""
    procs = ServiceProcs(
        local_infra.endpoints,
        dev_keys,
        Path(tmp_path_factory.mktemp("cluster-logs")),
        ports=dict(zip((*SERVICES, PORTAL), free_ports(len(SERVICES) + 1), strict=True)),
        prefix="e2e" + uuid.uuid4().hex[:8],
        # One recovery email per user per EMAIL_MIN_INTERVAL_S: shortened so the journey that
        # asks twice need not wait a minute.
        extra_env={
            "LOG_LEVEL": "INFO",
            "OUTBOX_POLL_INTERVAL_S": "0.2",
            "EMAIL_MIN_INTERVAL_S": "2",
            # Every "person" here is one address, and the fault test signs up a thousand of
            # them at once: the per-client limits (logins, recovery, sign-ups) are tested
            # in the integration tier, not here.
            "IP_LIMIT_PER_MINUTE": "100000",
        },
    )
    try:
        procs.start_all()
        procs.wait_ready(timeout=120)
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture(scope="session")
def e2e_mailbox(local_infra: LocalInfra) -> Mailbox:
    return Mailbox(local_infra.endpoints.mailbox_url)
