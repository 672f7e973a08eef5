"""Which images the cluster runs: public ones by default, any others through the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

SERVICES = ("registration", "membership", "support", "notification")
#: Copies every event topic to its pseudonymised ``analytics.*`` twin (runs when Kafka is
#: secured: analytics teams read only those).
PROJECTOR = "projector"
#: The Spanish web portal over registration's, membership's and support's HTTP APIs (runs when
#: those three do).
PORTAL = "portal"
#: The services the portal calls.
PORTAL_BACKENDS = ("registration", "membership", "support")


def _from_env(name: str, default: str) -> str:
    return os.environ.get(f"SECOP_{name.upper()}_IMAGE") or default


@dataclass(frozen=True)
class Images:
    """Image references; each one can be replaced by ``SECOP_<NAME>_IMAGE``.

    Defaults: the public Kafka, MongoDB and Mailpit images, and the service images as
    ``compose.yaml`` builds and tags them (``docker compose build`` gives ``secop-<name>:dev``).
    """

    kafka: str = field(default_factory=lambda: _from_env("kafka", "apache/kafka:4.1.1"))
    mongodb: str = field(default_factory=lambda: _from_env("mongodb", "mongo:7"))
    mailbox: str = field(default_factory=lambda: _from_env("mailbox", "axllent/mailpit:v1.26"))
    services: dict[str, str] = field(
        default_factory=lambda: {
            n: _from_env(n, f"secop-{n}:dev") for n in (*SERVICES, PROJECTOR, PORTAL)
        }
    )
