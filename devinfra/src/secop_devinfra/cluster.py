"""The whole cluster on this machine: infrastructure, the four services, the projector and the
portal as processes."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from secop_contracts.access import PRINCIPALS

from secop_devinfra.infra import Endpoints, LocalInfra, Ports
from secop_devinfra.keys import DevKeys
from secop_devinfra.procs import Proc, StartError, require_free

SERVICES = ("registration", "membership", "support", "notification")
#: Beside the four: the analytics projector (``./dev up`` runs it; the e2e tier does not need it).
PROJECTOR = "projector"
#: The Spanish web portal: a backend for the frontend over the services' public HTTP APIs (no
#: Kafka principal, no database). ``start_all`` starts it after the four.
PORTAL = "portal"
#: The services the portal calls believe its ``X-Forwarded-For`` (the person's address, not
#: the portal's): here every process talks over the loopback address.
PORTAL_PEERS = ["127.0.0.1/32"]
DEFAULT_SERVICE_PORTS = {
    PORTAL: 8000,
    "registration": 8001,
    "membership": 8002,
    "support": 8003,
    "notification": 8004,
    PROJECTOR: 8005,
}
DEV_OPERATOR_TOKEN = "dev-operator-token-change-me-0123456789"  # noqa: S105 - local only


@dataclass
class ServiceProcs:
    """The services and the portal as child processes, each configured only through its
    environment."""

    endpoints: Endpoints
    keys: DevKeys
    logs: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    #: isolates one cluster's topics, groups and databases from another's on shared infrastructure
    prefix: str = ""
    procs: dict[str, Proc] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env_for(self, name: str) -> dict[str, str]:
        if name == PORTAL:
            return self._portal_env()
        env = {
            **os.environ,
            **self.endpoints.as_env(),
            **self.endpoints.kafka_env(name),  # its own principal
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.ports[name]),
            "PUBLIC_BASE_URL": self.url(name),
            "JWT_PUBLIC_KEYS": self.keys.jwks,
            "LOG_FORMAT": "json",
        }
        if self.prefix:
            env |= {
                "KAFKA_TOPIC_PREFIX": f"{self.prefix}.",
                "MONGODB_DATABASE": f"{self.prefix}_{name}",
            }
        if name == "registration":
            env |= {
                "JWT_PRIVATE_KEY": self.keys.jwt_private_pem,
                "NOTIFICATION_SEAL_PUBLIC_KEY": self.keys.seal_public,
            }
        if name in ("support", "membership"):  # case keys and invitation links travel sealed
            env["NOTIFICATION_SEAL_PUBLIC_KEY"] = self.keys.seal_public
        if name in ("registration", "membership", "support"):  # the services the portal calls
            env["TRUSTED_PROXIES"] = json.dumps(PORTAL_PEERS)
        if name == PROJECTOR:
            env["PSEUDONYM_KEY"] = self.keys.pseudonym_key
        if name == "notification":
            # Links in emails lead to the portal's pages (registration's without a portal).
            env |= {
                "PUBLIC_BASE_URL": self.url(PORTAL if PORTAL in self.ports else "registration"),
                "SEAL_PRIVATE_KEY": self.keys.seal_private,
                "OPERATOR_TOKEN": DEV_OPERATOR_TOKEN,
            }
        return env | self.extra_env

    def _portal_env(self) -> dict[str, str]:
        """Only HTTP: the other services' URLs, its cookie key and the token keys; no Kafka or
        database settings (its settings have them, unused)."""
        env = {
            **os.environ,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.ports[PORTAL]),
            "PUBLIC_BASE_URL": self.url(PORTAL),
            "REGISTRATION_URL": self.url("registration"),
            "MEMBERSHIP_URL": self.url("membership"),
            "SUPPORT_URL": self.url("support"),
            "PORTAL_SESSION_KEY": self.keys.portal_session_key,
            "PORTAL_SECURE_COOKIES": "false",  # plain http on 127.0.0.1
            "JWT_PUBLIC_KEYS": self.keys.jwks,
            "LOG_FORMAT": "json",
        }
        return env | self.extra_env

    def grant(self, names: tuple[str, ...] = SERVICES, topics: bool = False) -> None:
        """The services' Kafka grants on this cluster's topics, as provisioning makes them in a
        deployment; ``topics``: create every topic too (else the services create theirs)."""
        self.endpoints.grant(f"{self.prefix}." if self.prefix else "", names, topics)

    def start(self, name: str) -> Proc:
        require_free(self.ports[name], name)
        proc = Proc(
            name, [sys.executable, "-m", name], self.logs / f"{name}.log", env=self.env_for(name)
        ).start()
        self.procs[name] = proc
        return proc

    def start_all(self) -> None:
        self.grant()
        for name in (*SERVICES, PORTAL):
            self.start(name)

    def ready(self, name: str) -> bool:
        try:
            return httpx.get(f"{self.url(name)}/health/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for name in (*SERVICES, PROJECTOR, PORTAL):
            if name in self.procs:
                self.procs[name].wait_until(
                    lambda n=name: self.ready(n), max(1.0, deadline - time.monotonic())
                )

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.stop()


def run_cluster(data: Path, keys: DevKeys) -> None:
    """Start everything on the default ports, print the URLs, stop everything on Ctrl-C."""
    infra = LocalInfra(data, Ports())
    services: ServiceProcs | None = None
    try:
        started = time.monotonic()
        endpoints = infra.start()
        print(
            f"infrastructure up: Kafka {endpoints.kafka_bootstrap}, MongoDB-wire (FerretDB) "
            f"{endpoints.mongodb_uri}, SMTP {endpoints.smtp_host}:{endpoints.smtp_port}",
            flush=True,
        )
        services = ServiceProcs(endpoints, keys, data / "services")
        services.grant(PRINCIPALS, topics=True)  # as a deployment's provisioning step
        services.start_all()
        services.start(PROJECTOR)
        services.wait_ready()
        print(f"\ncluster ready in {time.monotonic() - started:.0f}s:", flush=True)
        print(f"  {PORTAL:<13} {services.url(PORTAL)}   (the Spanish web portal: start here)")
        for name in SERVICES:
            print(f"  {name:<13} {services.url(name)}   (docs: {services.url(name)}/docs)")
        print(f"  {PROJECTOR:<13} {services.url(PROJECTOR)}   (health and metrics only)")
        print(f"  mailbox       {endpoints.mailbox_url}/api/v1/messages")
        print(f"  logs          {data}/services/*.log\n\nCtrl-C stops everything.", flush=True)
        while True:
            for name, proc in services.procs.items():
                if not proc.running:
                    raise StartError(f"{name} exited; see {proc.log_path}:\n{proc.tail()}")
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        # A second Ctrl-C (or uv forwarding the first) must not cut the shutdown short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if services:
            services.stop_all()
        infra.stop()
        print("stopped.", flush=True)
