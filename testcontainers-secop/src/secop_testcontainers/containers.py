"""One container class per part of the cluster, each waiting until its part really answers.

They work with the public images (apache/kafka, mongo, axllent/mailpit) and with the project's
local stand-ins built by podman (the same ports, variables and start-script path), and with or
without a shared network (``network_alias`` names the container on it).
"""

from __future__ import annotations

import io
import secrets
import shlex
import socket
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from secop_testcontainers.kafka_tls import (
    ADMIN,
    MECHANISM,
    BrokerTls,
    make_tls,
    scram_arguments,
    secured_properties,
)


class StartTimeout(RuntimeError):
    pass


class _Waiting(DockerContainer):
    """A container that, once started, polls ``ready()`` until it answers."""

    startup_timeout: float = 120.0

    def __init__(self, image: str, network: Network | None, alias: str | None) -> None:
        super().__init__(image)
        self.alias = alias
        if network is not None:
            self.with_network(network)
            if alias:
                self.with_network_aliases(alias)

    def host(self) -> str:
        return self.get_container_host_ip()

    def host_port(self, port: int) -> int:
        return int(self.get_exposed_port(port))

    def ready(self) -> bool:
        raise NotImplementedError

    def logs(self) -> str:
        out, err = self.get_logs()
        return (out + err).decode(errors="replace")

    def wait_until(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if check():
                    return
            except (OSError, httpx.HTTPError, PyMongoError):
                pass
            self.reload()
            if self.status in ("exited", "dead"):
                raise StartTimeout(f"{self.image} exited before {what}:\n{self.logs()[-3000:]}")
            if time.monotonic() > deadline:
                raise StartTimeout(
                    f"{self.image}: not {what} after {self.startup_timeout:.0f}s:\n"
                    f"{self.logs()[-3000:]}"
                )
            time.sleep(0.3)

    def start(self, wait: bool = True) -> Self:
        """Start, then (``wait``) poll ``ready()`` until it answers."""
        super().start()
        if wait:
            self.wait_until(self.ready, "ready")
        return self

    @property
    def address(self) -> str:
        """The container's address on its network (the first one it joined)."""
        self.reload()
        networks = self.get_wrapped_container().attrs["NetworkSettings"]["Networks"]
        return str(next(iter(networks.values()))["IPAddress"])


#: The broker's log configuration in secured mode (the images' own start scripts are not used).
LOG4J2 = """status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass(frozen=True)
class KafkaCredentials:
    """How a client on the host connects as one principal (TLS + SASL/SCRAM)."""

    bootstrap_servers: str
    username: str
    password: str
    ca_file: str
    mechanism: str = MECHANISM
    security_protocol: str = "SASL_SSL"

    def librdkafka(self) -> dict[str, str]:
        """Configuration for confluent-kafka (librdkafka) clients."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
            "ssl.ca.location": self.ca_file,
        }

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients."""
        from aiokafka.helpers import create_ssl_context

        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
            "ssl_context": create_ssl_context(cafile=self.ca_file),
        }

    def env(self) -> dict[str, str]:
        """The services' ``KAFKA_*`` settings for this principal (bootstrap not included)."""
        return {
            "KAFKA_SECURITY_PROTOCOL": self.security_protocol,
            "KAFKA_SASL_MECHANISM": self.mechanism,
            "KAFKA_USERNAME": self.username,
            "KAFKA_PASSWORD": self.password,
            "KAFKA_CA_FILE": self.ca_file,
        }


class KafkaContainer(_Waiting):
    """Kafka in KRaft mode, one node, with a listener for the host and one for the network.

    A client on the host must be told the *mapped* port in the broker's metadata, which is
    known only once the container runs: like testcontainers' own KafkaContainer, the container
    waits for a start script that is copied in after start and sets the advertised listeners.

    With ``users`` (SCRAM principal -> password, ``admin`` among them) the broker is secured
    as in production: TLS and SCRAM on every listener, ACLs enforced with nothing allowed by
    default, ``admin`` the only super user. Its certificate comes from a CA made for it
    (``tls`` to bring your own); :meth:`credentials` tells a client how to connect.
    """

    HOST_PORT = 9092
    INTERNAL_PORT = 19092
    HOME = "/tmp/secop-kafka"  # noqa: S108 - inside the container
    SCRIPT = f"{HOME}/start.sh"
    CLUSTER_ID = "rjetclKdab9ORZk_SurCrQ"

    def __init__(
        self,
        image: str = "apache/kafka:4.1.1",
        network: Network | None = None,
        alias: str | None = "kafka",
        partitions: int = 3,
        users: Mapping[str, str] | None = None,
        tls: BrokerTls | None = None,
    ) -> None:
        super().__init__(image, network, alias if network else None)
        self.with_exposed_ports(self.HOST_PORT)
        if users is not None and ADMIN not in users:
            raise ValueError(f"a secured broker needs the {ADMIN!r} principal among its users")
        self.users = dict(users) if users is not None else None
        self.tls = tls
        self.partitions = partitions
        self._ca_file: Path | None = None
        self.with_command(
            ["sh", "-c", f"while [ ! -f {self.SCRIPT} ]; do sleep 0.1; done; exec sh {self.SCRIPT}"]
        )

    @property
    def secure(self) -> bool:
        return self.users is not None

    @property
    def bootstrap_server(self) -> str:
        """For clients on the host."""
        return f"{self.host()}:{self.host_port(self.HOST_PORT)}"

    @property
    def internal_bootstrap_server(self) -> str:
        """For containers on the same network."""
        return f"{self.alias or 'localhost'}:{self.INTERNAL_PORT}"

    @property
    def ca_file(self) -> str:
        """The CA certificate on the host (world-readable: it is public), for clients and
        for mounting into containers."""
        if self._ca_file is None:
            raise RuntimeError("the broker has no TLS: start it with users=")
        return str(self._ca_file)

    def credentials(self, principal: str) -> KafkaCredentials:
        if self.users is None:
            raise RuntimeError("the broker runs without security: no credentials")
        return KafkaCredentials(
            self.bootstrap_server, principal, self.users[principal], self.ca_file
        )

    def _settings(self) -> dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": "1@localhost:9093",
            "controller.listener.names": "CONTROLLER",
            "auto.create.topics.enable": "false",  # the topics are provisioned or created
            "num.partitions": str(self.partitions),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Our consumers commit after every batch and wait: no 5 ms batching of commits.
            "group.coordinator.append.linger.ms": "0",
        }

    def _plaintext_script(self) -> dict[str, bytes]:
        """The image's own start script, driven by ``KAFKA_*`` variables."""
        env = {f"KAFKA_{k.upper().replace('.', '_')}": v for k, v in self._settings().items()} | {
            "CLUSTER_ID": self.CLUSTER_ID,
            "KAFKA_LISTENERS": (
                f"INTERNAL://:{self.INTERNAL_PORT},HOST://:{self.HOST_PORT},CONTROLLER://:9093"
            ),
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
                "INTERNAL:PLAINTEXT,HOST:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
            "KAFKA_ADVERTISED_LISTENERS": (
                f"INTERNAL://{self.internal_bootstrap_server},HOST://{self.bootstrap_server}"
            ),
        }
        lines = [f"export {k}='{v}'" for k, v in env.items()]
        return {"start.sh": ("\n".join([*lines, "exec /etc/kafka/docker/run", ""])).encode()}

    def _secured_script(self) -> dict[str, bytes]:
        """server.properties of our own, the storage formatted with every SCRAM principal,
        and the broker started from the image's classpath (the same in both images)."""
        assert self.users is not None
        tls = self.tls or make_tls(
            ["localhost", "127.0.0.1", self.alias or "kafka", self.host()],
            secrets.token_urlsafe(24),
        )
        self.tls = tls
        home = self.HOME
        props = [f"{k}={v}" for k, v in self._settings().items()]
        props += [f"log.dirs={home}/data"]
        props += secured_properties(
            {
                "INTERNAL": (f":{self.INTERNAL_PORT}", self.internal_bootstrap_server),
                "HOST": (f":{self.HOST_PORT}", self.bootstrap_server),
            },
            ":9093",
            admin_password=self.users[ADMIN],
            keystore_path=f"{home}/broker.p12",
            keystore_password=tls.keystore_password,
            ca_path=f"{home}/ca.pem",
        )
        scram = " ".join(shlex.quote(a) for a in scram_arguments(self.users))
        java = f"java -Dlog4j2.configurationFile={home}/log4j2.properties -cp '/opt/kafka/libs/*'"
        script = "\n".join(
            [
                "set -eu",
                f"{java} kafka.tools.StorageTool format --ignore-formatted "
                f"-t {self.CLUSTER_ID} -c {home}/server.properties {scram} >/dev/null",
                f"exec {java} -Xmx384m -Xms128m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "
                f"kafka.Kafka {home}/server.properties",
                "",
            ]
        )
        return {
            "server.properties": ("\n".join([*props, ""])).encode(),
            "broker.p12": tls.keystore,
            "ca.pem": tls.ca_pem,
            "log4j2.properties": LOG4J2.encode(),
            "start.sh": script.encode(),
        }

    def _copy_script(self) -> None:
        files = self._secured_script() if self.secure else self._plaintext_script()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            # The start script last: the container starts as soon as it appears.
            for name in sorted(files, key=lambda n: n == "start.sh"):
                data = files[name]
                info = tarfile.TarInfo(f"{self.HOME.lstrip('/')}/{name}")
                info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        self.get_wrapped_container().put_archive("/", archive.getvalue())
        if self.tls is not None:
            folder = Path(tempfile.mkdtemp(prefix="secop-kafka-ca-"))
            folder.chmod(0o755)
            self._ca_file = folder / "ca.pem"
            self._ca_file.write_bytes(self.tls.ca_pem)
            self._ca_file.chmod(0o644)

    def ready(self) -> bool:
        return "Kafka Server started" in self.logs()

    def start(self) -> Self:
        DockerContainer.start(self)
        self._copy_script()
        self.wait_until(self.ready, "started")
        return self


class MongoContainer(_Waiting):
    """MongoDB (``mongo:7``), or any server speaking its wire protocol (FerretDB here)."""

    PORT = 27017

    def __init__(
        self, image: str = "mongo:7", network: Network | None = None, alias: str | None = "mongodb"
    ) -> None:
        super().__init__(image, network, alias if network else None)
        self.with_exposed_ports(self.PORT)

    @property
    def connection_url(self) -> str:
        return f"mongodb://{self.host()}:{self.host_port(self.PORT)}/"

    @property
    def internal_url(self) -> str:
        return f"mongodb://{self.alias or 'localhost'}:{self.PORT}/"

    def ready(self) -> bool:
        with MongoClient(self.connection_url, serverSelectionTimeoutMS=1000) as client:
            return bool(client.admin.command("ping")["ok"])


class MailboxContainer(_Waiting):
    """Mailpit (SMTP 1025, API 8025), or the project's SMTP sink on the same ports."""

    SMTP_PORT = 1025
    HTTP_PORT = 8025

    def __init__(
        self,
        image: str = "axllent/mailpit:v1.26",
        network: Network | None = None,
        alias: str | None = "mailbox",
    ) -> None:
        super().__init__(image, network, alias if network else None)
        self.with_exposed_ports(self.SMTP_PORT, self.HTTP_PORT)

    @property
    def api_url(self) -> str:
        return f"http://{self.host()}:{self.host_port(self.HTTP_PORT)}"

    @property
    def smtp_port(self) -> int:
        return self.host_port(self.SMTP_PORT)

    def ready(self) -> bool:
        with socket.create_connection((self.host(), self.smtp_port), timeout=1) as s:
            greeting = s.recv(64)
        return greeting.startswith(b"220") and (
            httpx.get(f"{self.api_url}/livez", timeout=2).status_code == 200
        )


class ServiceContainer(_Waiting):
    """One of the four services, ready when ``GET /health/ready`` answers 200 (Kafka and the
    database reachable)."""

    def __init__(
        self,
        name: str,
        image: str,
        port: int,
        host_port: int,
        env: dict[str, str],
        network: Network | None = None,
    ) -> None:
        super().__init__(image, network, name)
        self.name, self.port = name, port
        # A fixed host port: the service must know its public URL (links in emails) up front.
        self.with_bind_ports(port, host_port)
        for key, value in env.items():
            self.with_env(key, value)

    @property
    def url(self) -> str:
        return f"http://{self.host()}:{self.host_port(self.port)}"

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/health/ready", timeout=3).status_code == 200
