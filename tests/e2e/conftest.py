"""The whole cluster as separate processes, started the way ``./dev up`` starts it.

The four services run as ``python -m <service>`` children configured only by their environment,
on free ports, with a topic and database prefix of their own; tests drive them over HTTP and read
the emails from the SMTP sink, as a person would. The end-to-end tier starts its own local
infrastructure (Kafka, FerretDB, the SMTP sink) so fault tests can kill and restart any of it
without disturbing other tests.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from secop_devinfra.cluster import SERVICES, ServiceProcs
from secop_devinfra.infra import LocalInfra, Ports
from secop_devinfra.keys import DevKeys
from secop_devinfra.procs import free_ports

from tests.support.kafka import use_security
from tests.support.mailbox import Mailbox


@pytest.fixture(scope="session")
def local_infra() -> Iterator[LocalInfra]:
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
    procs = ServiceProcs(
        local_infra.endpoints,
        dev_keys,
        Path(tmp_path_factory.mktemp("cluster-logs")),
        ports=dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True)),
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
