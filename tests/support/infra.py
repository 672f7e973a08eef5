"""Which Kafka, database and SMTP server the tests use, in this order:

1. ``env``: addresses from the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``,
   ``SMTP_HOST``, ``SMTP_PORT``, ``MAILBOX_URL``), e.g. from ``./dev infra``;
2. ``containers``: testcontainers (Kafka in KRaft mode, MongoDB, Mailpit) when a Docker engine
   answers; forced with ``SECOP_TEST_INFRA=containers`` on a machine without Docker, the same
   containers run through podman from the project's local images (``secop_devinfra.containers``
   provisions podman, its API socket and the images, cached);
3. ``local``: the project's own processes (Kafka from Maven Central, FerretDB, the SMTP sink),
   started for the session on free ports and stopped after it.

``SECOP_TEST_INFRA=env|containers|local`` forces one; the default ``auto`` picks as above.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from secop_devinfra.infra import Endpoints, LocalInfra, Ports
from secop_devinfra.kafka_security import load_or_create as kafka_secrets
from secop_devinfra.procs import free_ports

ENV_KEYS = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "SMTP_HOST", "SMTP_PORT", "MAILBOX_URL")


def _from_env() -> Endpoints:
    missing = [k for k in ENV_KEYS if not os.environ.get(k)]
    if missing:
        raise RuntimeError(f"SECOP_TEST_INFRA=env needs {', '.join(missing)}")
    secrets = os.environ.get("SECOP_KAFKA_SECRETS")  # what `./dev infra` prints with security on
    return Endpoints(
        kafka_bootstrap=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        mongodb_uri=os.environ["MONGODB_URI"],
        smtp_host=os.environ["SMTP_HOST"],
        smtp_port=int(os.environ["SMTP_PORT"]),
        mailbox_url=os.environ["MAILBOX_URL"].rstrip("/"),
        kafka_secrets=kafka_secrets(Path(secrets)) if secrets else None,
    )


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _containers() -> Iterator[Endpoints]:
    from secop_devinfra.containers import prepare

    # With a Docker engine: nothing to do (public images). Without: podman and local images,
    # selected through DOCKER_HOST and SECOP_*_IMAGE.
    prepare(services=())
    from secop_testcontainers import Images, KafkaContainer, MailboxContainer, MongoContainer
    from secop_testcontainers.kafka_tls import BrokerTls

    images = Images()
    # The broker is secured as everywhere else, with this session's secrets (a fresh folder).
    secrets = kafka_secrets(Path(tempfile.mkdtemp(prefix="secop-test-kafka-")))
    tls = BrokerTls(
        secrets.ca_file.read_bytes(), secrets.keystore.read_bytes(), secrets.keystore_password
    )
    with (
        KafkaContainer(images.kafka, users=secrets.passwords, tls=tls) as kafka,
        MongoContainer(images.mongodb) as mongo,
        MailboxContainer(images.mailbox) as mailbox,
    ):
        yield Endpoints(
            kafka_bootstrap=kafka.bootstrap_server,
            mongodb_uri=mongo.connection_url,
            smtp_host=mailbox.host(),
            smtp_port=mailbox.smtp_port,
            mailbox_url=mailbox.api_url,
            kafka_secrets=secrets,
        )


@contextlib.contextmanager
def _local() -> Iterator[Endpoints]:
    data = Path(tempfile.mkdtemp(prefix="secop-test-"))
    infra = LocalInfra(data, Ports(*free_ports(5)))
    try:
        yield infra.start()
    finally:
        infra.stop()


def mode() -> str:
    chosen = os.environ.get("SECOP_TEST_INFRA", "auto")
    if chosen != "auto":
        return chosen
    if all(os.environ.get(k) for k in ENV_KEYS):
        return "env"
    return "containers" if docker_available() else "local"


@contextlib.contextmanager
def provision() -> Iterator[Endpoints]:
    chosen = mode()
    if chosen == "env":
        yield _from_env()
    elif chosen == "containers":
        with _containers() as endpoints:
            yield endpoints
    elif chosen == "local":
        with _local() as endpoints:
            yield endpoints
    else:
        raise RuntimeError(f"SECOP_TEST_INFRA={chosen!r}: use env, containers, local or auto")
