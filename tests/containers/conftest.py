"""Containers for real: the downstream testcontainers module and compose.yaml.

With a Docker engine the tests use the public images and the service images ``docker compose
build`` tagged; without one (this project's machines) ``prepare()`` provisions podman, its API
socket and the local images first (cached: seconds once built).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def container_engine() -> dict[str, str]:
    from secop_devinfra.containers import prepare

    return prepare()
