"""The SECOP II accounts cluster in containers, for a test session."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Self

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from secop_testcontainers.containers import (
    KafkaContainer,
    KafkaCredentials,
    MailboxContainer,
    MongoContainer,
    ServiceContainer,
)
from secop_testcontainers.images import PORTAL, PORTAL_BACKENDS, PROJECTOR, SERVICES, Images
from secop_testcontainers.keys import ClusterKeys
from secop_testcontainers.mailbox import Mailbox

#: Every Kafka principal of the cluster: the admin, one per service, the analytics projector
#: (not run here) and the read-only analytics principal.
PRINCIPALS = ("admin", *SERVICES, "projector", "analytics")
PORTS = {
    "registration": 8001,
    "membership": 8002,
    "support": 8003,
    "notification": 8004,
    PROJECTOR: 8005,
    PORTAL: 8000,
}


#: Tries at starting the services when a chosen host port was taken in the meantime.
PORT_TRIES = 3


def _free_ports(count: int) -> list[int]:
    """Distinct free host ports: each socket stays bound until all are chosen."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        return ports


class SecopCluster:
    """Kafka, MongoDB, Mailpit and the chosen services on one network (with the portal when
    registration, membership and support are chosen).

    >>> with SecopCluster(services=["registration", "notification"]) as cluster:
    ...     cluster.url("registration"), cluster.kafka_bootstrap, cluster.mailbox
    ...     cluster.analytics.librdkafka()  # read the pseudonymised topics, as analytics does

    Kafka is secured as in production (``secure=False`` for PLAINTEXT): TLS and SCRAM, one
    principal per service, ACLs provisioned by a one-shot container (``python -m
    secop_runtime.kafka_provisioning``, from a service image) before the services start.

    ``images`` defaults to ``Images()`` (public images, overridable with ``SECOP_*_IMAGE``);
    ``env`` adds variables to every service (e.g. ``{"LOG_LEVEL": "DEBUG"}``).
    """

    #: Where the services find the broker's CA certificate.
    CA_IN_CONTAINER = "/run/secop/kafka-ca.pem"

    def __init__(
        self,
        services: Iterable[str] = SERVICES,
        images: Images | None = None,
        keys: ClusterKeys | None = None,
        env: dict[str, str] | None = None,
        secure: bool = True,
    ) -> None:
        self.services = [s for s in SERVICES if s in set(services)]
        unknown = set(services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}: choose from {SERVICES}")
        if secure and self.services:  # analytics teams read the projector's copies
            self.services.append(PROJECTOR)
        if set(PORTAL_BACKENDS) <= set(self.services):  # people use the platform through it
            self.services.append(PORTAL)
        self.images = images or Images()
        self.keys = keys or ClusterKeys.generate()
        self.extra_env = env or {}
        self.network = Network()
        users = {name: secrets.token_urlsafe(24) for name in PRINCIPALS} if secure else None
        self.kafka = KafkaContainer(self.images.kafka, self.network, users=users)
        self.mongodb = MongoContainer(self.images.mongodb, self.network)
        self.mail = MailboxContainer(self.images.mailbox, self.network)
        #: Chosen once the infrastructure runs (its host ports are podman's to choose).
        self.host_ports: dict[str, int] = {}
        self.containers: dict[str, ServiceContainer] = {}

    # --- what tests use ------------------------------------------------------------------------

    def url(self, service: str) -> str:
        """The service's base URL from the host, e.g. ``http://127.0.0.1:49153``."""
        return self.containers[service].url

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap_server

    @property
    def analytics(self) -> KafkaCredentials:
        """The read-only analytics principal: the pseudonymised ``analytics.*`` topics only."""
        return self.kafka.credentials("analytics")

    def kafka_credentials(self, principal: str) -> KafkaCredentials:
        """Any principal's credentials (``admin`` may do anything: for test set-up only)."""
        return self.kafka.credentials(principal)

    @property
    def mongodb_uri(self) -> str:
        return self.mongodb.connection_url

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.mail.api_url)

    @property
    def operator_token(self) -> str:
        """Bearer token for notification's operator endpoints."""
        return self.keys.operator_token

    # --- lifecycle -----------------------------------------------------------------------------

    def _public_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.host_ports[service]}"

    def env_for(self, name: str, portal_address: str | None = None) -> dict[str, str]:
        """``portal_address``: the portal's address on the network, whose ``X-Forwarded-For``
        the services it calls believe (the person's address, not the portal's)."""
        if name == PORTAL:
            return self._portal_env()
        env = {
            "HTTP_HOST": "0.0.0.0",  # noqa: S104 - inside the container
            "HTTP_PORT": str(PORTS[name]),
            "PUBLIC_BASE_URL": self._public_url(name),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.internal_bootstrap_server,
            "KAFKA_REPLICATION_FACTOR": "1",
            "MONGODB_URI": self.mongodb.internal_url,
            "JWT_PUBLIC_KEYS": self.keys.jwks,
        }
        if self.kafka.secure:
            env |= self.kafka.credentials(name).env() | {"KAFKA_CA_FILE": self.CA_IN_CONTAINER}
        if name == "registration":
            env |= {
                "JWT_PRIVATE_KEY": self.keys.jwt_private_pem,
                "NOTIFICATION_SEAL_PUBLIC_KEY": self.keys.seal_public,
            }
        if name in ("support", "membership"):  # case keys and invitation links travel sealed
            env["NOTIFICATION_SEAL_PUBLIC_KEY"] = self.keys.seal_public
        if portal_address and name in PORTAL_BACKENDS:
            env["TRUSTED_PROXIES"] = json.dumps([f"{portal_address}/32"])
        if name == PROJECTOR:
            env["PSEUDONYM_KEY"] = self.keys.pseudonym_key
        if name == "notification":
            env |= {
                # Links in emails lead to the portal's pages (else registration's).
                "PUBLIC_BASE_URL": self._public_url(
                    next((n for n in (PORTAL, "registration") if n in self.host_ports), name)
                ),
                "SEAL_PRIVATE_KEY": self.keys.seal_private,
                "OPERATOR_TOKEN": self.keys.operator_token,
                "SMTP_HOST": self.mail.alias or "mailbox",
                "SMTP_PORT": str(MailboxContainer.SMTP_PORT),
            }
        return env | self.extra_env

    def _portal_env(self) -> dict[str, str]:
        """Only HTTP: the services it calls by their names on the network; no Kafka, no
        database."""
        env = {
            "HTTP_HOST": "0.0.0.0",  # noqa: S104 - inside the container
            "HTTP_PORT": str(PORTS[PORTAL]),
            "PUBLIC_BASE_URL": self._public_url(PORTAL),
            **{f"{n.upper()}_URL": f"http://{n}:{PORTS[n]}" for n in PORTAL_BACKENDS},
            "PORTAL_SESSION_KEY": self.keys.portal_session_key,
            "PORTAL_SECURE_COOKIES": "false",  # plain http on 127.0.0.1
            "JWT_PUBLIC_KEYS": self.keys.jwks,
        }
        return env | self.extra_env

    def start(self) -> Self:
        try:
            self.network.create()
            with ThreadPoolExecutor(max_workers=3) as pool:
                for future in [pool.submit(c.start) for c in (self.kafka, self.mongodb, self.mail)]:
                    future.result()
            if self.kafka.secure and self.services:
                self._provision()
            for attempt in range(1, PORT_TRIES + 1):
                try:
                    self._start_services()
                    break
                except Exception as exc:
                    # A port free when chosen can be taken before the container binds it
                    # (the engine's own mappings come from the same range): choose again.
                    if "address already in use" not in str(exc) or attempt == PORT_TRIES:
                        raise
                    self._stop_services()
        except BaseException:
            self.stop()
            raise
        return self

    def _provision(self) -> None:
        """Topics and ACLs, created as a deployment does: by the admin principal, from a
        service image (each carries ``secop_runtime``), once, before any service starts."""
        job = (
            DockerContainer(self.images.services[self.services[0]])
            .with_network(self.network)
            .with_volume_mapping(self.kafka.ca_file, self.CA_IN_CONTAINER, "ro")
            .with_command(["/app/.venv/bin/python", "-m", "secop_runtime.kafka_provisioning"])
        )
        env = self.kafka.credentials("admin").env() | {
            "KAFKA_CA_FILE": self.CA_IN_CONTAINER,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.internal_bootstrap_server,
            "KAFKA_REPLICATION_FACTOR": "1",
        }
        for key, value in env.items():
            job.with_env(key, value)
        job.start()
        try:
            result = job.get_wrapped_container().wait(timeout=180)
            if result.get("StatusCode") != 0:
                out, err = job.get_logs()
                raise RuntimeError(
                    "provisioning Kafka's topics and ACLs failed:\n"
                    + (out + err).decode(errors="replace")[-3000:]
                )
        finally:
            with contextlib.suppress(Exception):
                job.stop()

    def _start_services(self) -> None:
        # Each service is told its public URL (links in emails), so its port is chosen first.
        self.host_ports = dict(zip(self.services, _free_ports(len(self.services)), strict=True))
        portal = self._portal_started() if PORTAL in self.services else None
        for name in self.services:
            if name == PORTAL:
                continue
            container = self.containers[name] = ServiceContainer(
                name,
                self.images.services[name],
                PORTS[name],
                self.host_ports[name],
                self.env_for(name, portal_address=portal.address if portal else None),
                self.network,
            )
            if self.kafka.secure:
                container.with_volume_mapping(self.kafka.ca_file, self.CA_IN_CONTAINER, "ro")
        services = [c for c in self.containers.values() if c is not portal]
        with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
            for future in [pool.submit(c.start) for c in services]:
                future.result()
        if portal:  # ready once the services it calls answer
            portal.wait_until(portal.ready, "ready")

    def _portal_started(self) -> ServiceContainer:
        """The portal's container, running but not yet waited for: its address on the network
        is what the services it calls must trust, so it is known before they start."""
        portal = self.containers[PORTAL] = ServiceContainer(
            PORTAL,
            self.images.services[PORTAL],
            PORTS[PORTAL],
            self.host_ports[PORTAL],
            self.env_for(PORTAL),
            self.network,
        )
        portal.start(wait=False)
        return portal

    def _stop_services(self) -> None:
        for container in self.containers.values():
            with contextlib.suppress(Exception):  # never started, or already gone
                container.stop()
        self.containers = {}

    def stop(self) -> None:
        parts = [*self.containers.values(), self.mail, self.mongodb, self.kafka]
        for container in parts:
            with contextlib.suppress(Exception):  # never started, or already gone
                container.stop()
        with contextlib.suppress(Exception):  # never created
            self.network.remove()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
