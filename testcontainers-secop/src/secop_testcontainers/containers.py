"""One container class per part of the cluster, each waiting until its part really answers.

They work with the public images (apache/kafka, mongo, axllent/mailpit) and with the project's
local stand-ins built by podman (the same ports, variables and start-script path), and with or
without a shared network (``network_alias`` names the container on it).
"""

from __future__ import annotations

import io
import socket
import tarfile
import time
from collections.abc import Callable
from typing import Self

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network


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

    def start(self) -> Self:
        super().start()
        self.wait_until(self.ready, "ready")
        return self


class KafkaContainer(_Waiting):
    """Kafka in KRaft mode, one node, with a listener for the host and one for the network.

    A client on the host must be told the *mapped* port in the broker's metadata, which is
    known only once the container runs: like testcontainers' own KafkaContainer, the container
    waits for a start script that is copied in after start and sets the advertised listeners.
    """

    HOST_PORT = 9092
    INTERNAL_PORT = 19092
    SCRIPT = "/tmp/secop-kafka-start.sh"  # noqa: S108 - inside the container
    CLUSTER_ID = "rjetclKdab9ORZk_SurCrQ"

    def __init__(
        self,
        image: str = "apache/kafka:4.1.1",
        network: Network | None = None,
        alias: str | None = "kafka",
        partitions: int = 3,
    ) -> None:
        super().__init__(image, network, alias if network else None)
        self.with_exposed_ports(self.HOST_PORT)
        settings = {
            "CLUSTER_ID": self.CLUSTER_ID,
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_LISTENERS": (
                f"INTERNAL://:{self.INTERNAL_PORT},HOST://:{self.HOST_PORT},CONTROLLER://:9093"
            ),
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
                "INTERNAL:PLAINTEXT,HOST:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
            # The services create their topics themselves, with their partition count.
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_NUM_PARTITIONS": str(partitions),
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "10",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            # Our consumers commit after every batch and wait: no 5 ms batching of commits.
            "KAFKA_GROUP_COORDINATOR_APPEND_LINGER_MS": "0",
        }
        for key, value in settings.items():
            self.with_env(key, value)
        self.with_command(
            ["sh", "-c", f"while [ ! -f {self.SCRIPT} ]; do sleep 0.1; done; exec sh {self.SCRIPT}"]
        )

    @property
    def bootstrap_server(self) -> str:
        """For clients on the host."""
        return f"{self.host()}:{self.host_port(self.HOST_PORT)}"

    @property
    def internal_bootstrap_server(self) -> str:
        """For containers on the same network."""
        return f"{self.alias or 'localhost'}:{self.INTERNAL_PORT}"

    def _copy_script(self) -> None:
        advertised = f"INTERNAL://{self.internal_bootstrap_server},HOST://{self.bootstrap_server}"
        script = (
            f"export KAFKA_ADVERTISED_LISTENERS='{advertised}'\nexec /etc/kafka/docker/run\n"
        ).encode()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo(self.SCRIPT.lstrip("/"))
            info.size, info.mode, info.mtime = len(script), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(script))
        self.get_wrapped_container().put_archive("/", archive.getvalue())

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
