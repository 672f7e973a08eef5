"""Event subscribers of the notification service."""

from __future__ import annotations

from secop_runtime.service import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's handlers (each names its group and ack policy via the runtime)."""
