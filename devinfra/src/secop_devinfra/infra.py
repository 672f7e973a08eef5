"""Start and stop the local Kafka broker, FerretDB and the SMTP sink as child processes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from secop_devinfra.installs import ferretdb_binary, kafka_classpath
from secop_devinfra.kafka_security import KafkaSecrets
from secop_devinfra.kafka_security import load_or_create as kafka_secrets
from secop_devinfra.procs import Proc, port_open, require_free

KAFKA_HEAP = "-Xmx384m"

LOG4J2 = """status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass(frozen=True)
class Ports:
    kafka: int = 9092
    kafka_controller: int = 9093
    mongodb: int = 27017
    smtp: int = 1025
    mailbox_http: int = 8025


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongodb_uri: str
    smtp_host: str
    smtp_port: int
    mailbox_url: str
    #: TLS and SCRAM secrets when the broker requires them (None: PLAINTEXT, no ACLs)
    kafka_secrets: KafkaSecrets | None = None

    def as_env(self) -> dict[str, str]:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "MONGODB_URI": self.mongodb_uri,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
            "MAILBOX_URL": self.mailbox_url,
        }
        if self.kafka_secrets is not None:
            env["SECOP_KAFKA_SECRETS"] = str(self.kafka_secrets.folder)
        return env

    def kafka_env(self, principal: str) -> dict[str, str]:
        """``KAFKA_*`` security settings of a client acting as ``principal`` (none if off)."""
        return self.kafka_secrets.client_env(principal) if self.kafka_secrets else {}

    def kafka_fields(self, principal: str) -> dict[str, str]:
        """The same, as ``ServiceSettings`` field names (none if off)."""
        return self.kafka_secrets.client_fields(principal) if self.kafka_secrets else {}

    def grant(self, prefix: str, principals: Iterable[str], topics: bool = False) -> None:
        """Provisioning with the admin principal for topics named ``prefix...``: the grants of
        ``principals`` (``topics``: every topic too, else the services create theirs). Nothing
        to do on a broker without security."""
        if self.kafka_secrets is None:
            return
        from secop_runtime.kafka_provisioning import provision
        from secop_runtime.settings import ServiceSettings

        admin = ServiceSettings(
            service_name="admin",
            kafka_bootstrap_servers=self.kafka_bootstrap,
            kafka_topic_prefix=prefix,
            **self.kafka_fields("admin"),  # type: ignore[arg-type]
        )
        provision(admin, principals=principals, topics=topics)


class KafkaServer:
    """One KRaft node (broker and controller). With ``secrets``: TLS and SCRAM on every
    listener, ACLs enforced (``kafka_security``); without: PLAINTEXT, no authorisation."""

    def __init__(
        self,
        data: Path,
        port: int,
        controller_port: int,
        partitions: int = 3,
        secrets: KafkaSecrets | None = None,
    ) -> None:
        self.data, self.port, self.controller_port = data, port, controller_port
        self.partitions = partitions
        self.secrets = secrets
        self.proc: Proc | None = None

    def _listeners(self) -> list[str]:
        listener, controller = f"127.0.0.1:{self.port}", f"127.0.0.1:{self.controller_port}"
        if self.secrets is not None:
            return self.secrets.broker_properties(listener, controller)
        return [
            f"listeners=PLAINTEXT://{listener},CONTROLLER://{controller}",
            f"advertised.listeners=PLAINTEXT://{listener}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        ]

    def _configure(self) -> Path:
        self.data.mkdir(parents=True, exist_ok=True)
        self.data.chmod(0o700)  # with security on, server.properties holds the admin's password
        props = self.data / "server.properties"
        props.touch(mode=0o600)
        props.chmod(0o600)
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    *self._listeners(),
                    "controller.listener.names=CONTROLLER",
                    f"log.dirs={self.data / 'logs'}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    # Kafka 4's group coordinator holds each offset commit up to 5 ms to batch
                    # it with others; our consumers commit after every batch and wait for it.
                    "group.coordinator.append.linger.ms=0",
                    "auto.create.topics.enable=false",
                    f"num.partitions={self.partitions}",
                    "log.retention.hours=168",
                    "",
                ]
            )
        )
        (self.data / "log4j2.properties").write_text(LOG4J2.format(log=self.data / "server.log"))
        return props

    def _format(self, classpath: str, props: Path) -> None:
        """Format the log folder once; again only if it was formatted for other principals
        (or none: a PLAINTEXT broker's data), as SCRAM users exist only from the format."""
        scram = self.secrets.scram_arguments() if self.secrets else []
        marker = self.data / "format.sha256"
        wanted = hashlib.sha256("\0".join(scram).encode()).hexdigest()
        logs = self.data / "logs"
        if (logs / "meta.properties").exists():
            if marker.exists() and marker.read_text() == wanted:
                return
            shutil.rmtree(logs)  # local development data, made for other credentials
        cluster_id = uuid.uuid4().hex[:22]
        subprocess.run(
            [
                "java",
                "-cp",
                classpath,
                f"-Dlog4j2.configurationFile={self.data / 'log4j2.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
                "--ignore-formatted",
                *scram,
            ],
            check=True,
            capture_output=True,
        )
        marker.write_text(wanted)

    def start(self, timeout: float = 90) -> None:
        require_free(self.port, "Kafka")
        require_free(self.controller_port, "Kafka's controller")
        classpath = f"{kafka_classpath()}/*"
        props = self._configure()
        self._format(classpath, props)
        self.proc = Proc(
            "kafka",
            [
                "java",
                KAFKA_HEAP,
                "-Xms128m",
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.data / 'log4j2.properties'}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(props),
            ],
            self.data / "stdout.log",
        ).start()
        self.proc.wait_until(self._started, timeout)

    def _started(self) -> bool:
        log = self.data / "server.log"
        return (
            port_open(self.port)
            and log.exists()
            and "Kafka Server started" in log.read_text(errors="replace")[-200_000:]
        )

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(timeout=30)
            # A clean restart needs the "started" marker of the next run only.
            log = self.data / "server.log"
            if log.exists():
                log.rename(log.with_suffix(".log.previous"))


class FerretDBServer:
    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        self.proc: Proc | None = None

    def start(self, timeout: float = 30) -> None:
        require_free(self.port, "FerretDB")
        (self.data / "sqlite").mkdir(parents=True, exist_ok=True)
        self.proc = Proc(
            "ferretdb",
            [
                str(ferretdb_binary()),
                f"-listen-addr=127.0.0.1:{self.port}",
                # Immediate transactions take the write lock up front, so SQLite's busy handler
                # waits instead of failing with SQLITE_BUSY when two writers meet under load.
                # synchronous=NORMAL (with FerretDB's WAL journal) survives a crash or restart
                # of FerretDB itself; only an OS crash could lose the last commits. FULL fsyncs
                # every write, and commits queued at tens of milliseconds each here.
                f"-sqlite-url=file:{self.data / 'sqlite'}/?_txlock=immediate"
                "&_pragma=synchronous(normal)",
                "-log-level=warn",
            ],
            self.data / "ferretdb.log",
        ).start()
        self.proc.wait_until(lambda: port_open(self.port), timeout)

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


class SinkServer:
    def __init__(self, data: Path, smtp_port: int, http_port: int) -> None:
        self.data, self.smtp_port, self.http_port = data, smtp_port, http_port
        self.proc: Proc | None = None

    def start(self, timeout: float = 20) -> None:
        require_free(self.smtp_port, "the SMTP sink")
        require_free(self.http_port, "the SMTP sink's API")
        self.proc = Proc(
            "smtp-sink",
            [
                sys.executable,
                "-m",
                "secop_devinfra.smtp_sink",
                "--smtp-port",
                str(self.smtp_port),
                "--http-port",
                str(self.http_port),
                "--store",
                str(self.data / "messages"),
            ],
            self.data / "smtp-sink.log",
        ).start()
        self.proc.wait_until(self._live, timeout)

    def _live(self) -> bool:
        if not (port_open(self.smtp_port) and port_open(self.http_port)):
            return False
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/livez", timeout=1) as r:
            return json.loads(r.read())["status"] == "ok"

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


class LocalInfra:
    """Kafka, FerretDB and the SMTP sink under one data folder.

    Kafka speaks only TLS with SCRAM and enforces ACLs (``secure=False``: PLAINTEXT, for a
    measurement of what security costs); its secrets are kept in ``<data>/kafka-secrets``.
    """

    def __init__(self, data: Path, ports: Ports | None = None, secure: bool = True) -> None:
        self.ports = ports or Ports()
        self.secrets = kafka_secrets(data / "kafka-secrets") if secure else None
        self.kafka = KafkaServer(
            data / "kafka", self.ports.kafka, self.ports.kafka_controller, secrets=self.secrets
        )
        self.ferretdb = FerretDBServer(data / "ferretdb", self.ports.mongodb)
        self.sink = SinkServer(data / "mail", self.ports.smtp, self.ports.mailbox_http)

    @property
    def endpoints(self) -> Endpoints:
        p = self.ports
        return Endpoints(
            kafka_bootstrap=f"127.0.0.1:{p.kafka}",
            mongodb_uri=f"mongodb://127.0.0.1:{p.mongodb}/",
            smtp_host="127.0.0.1",
            smtp_port=p.smtp,
            mailbox_url=f"http://127.0.0.1:{p.mailbox_http}",
            kafka_secrets=self.secrets,
        )

    def start(self) -> Endpoints:
        try:
            self.ferretdb.start()
            self.sink.start()
            self.kafka.start()
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def stop(self) -> None:
        for part in (self.kafka, self.sink, self.ferretdb):
            part.stop()
