"""The cluster as separate processes: every service ready, and each one stops cleanly."""

from __future__ import annotations

import httpx
import pytest
from secop_devinfra.cluster import SERVICES, ServiceProcs

pytestmark = pytest.mark.e2e


def test_every_service_process_answers_ready_with_its_dependencies(cluster: ServiceProcs) -> None:
    for name in SERVICES:
        response = httpx.get(f"{cluster.url(name)}/health/ready", timeout=5)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["checks"] == {"database": "ok", "kafka": "ok"}
        assert cluster.procs[name].running
