"""Pytest fixtures, registered through the ``pytest11`` entry point when the package is installed.

- ``secop_cluster`` (session): a running :class:`SecopCluster`, stopped after the session;
- ``secop_cluster_services`` (session): which services it starts; override it in a conftest.py
  to start fewer, e.g. ``return ("registration", "notification")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from secop_testcontainers.cluster import SecopCluster


@pytest.fixture(scope="session")
def secop_cluster_services() -> tuple[str, ...]:
    from secop_testcontainers.images import SERVICES

    return SERVICES


@pytest.fixture(scope="session")
def secop_cluster(secop_cluster_services: tuple[str, ...]) -> Iterator[SecopCluster]:
    from secop_testcontainers.cluster import SecopCluster

    with SecopCluster(services=secop_cluster_services) as cluster:
        yield cluster
