"""compose.yaml brought up for real (podman-compose with compose.podman.yaml here)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.mailbox import links_in

pytestmark = pytest.mark.containers

SERVICES = {
    "registration": 8001,
    "membership": 8002,
    "support": 8003,
    "notification": 8004,
    "projector": 8005,
    "portal": 8000,
}
PUBLISHED = [*SERVICES.values(), 9092, 27017, 1025, 8025]
MAILBOX = "http://127.0.0.1:8025"


def _in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def compose_up(container_engine: dict[str, str]) -> Iterator[Path]:
    """The compose cluster, up; yields its env file (keys and Kafka passwords)."""
    if not container_engine:
        pytest.skip("with Docker, run `docker compose up --build` and these checks by hand")
    from secop_devinfra.containers.compose import compose, env_file

    busy = [p for p in PUBLISHED if _in_use(p)]
    if busy:
        pytest.fail(f"compose.yaml publishes ports already in use here: {busy}")
    env = env_file()
    try:
        compose("up", "-d", env_path=env)
        deadline = time.monotonic() + 240
        waiting = dict(SERVICES)
        while waiting and time.monotonic() < deadline:
            waiting = {n: p for n, p in waiting.items() if not _ready(p)}
            time.sleep(1)
        if waiting:
            logs = {
                n: compose("logs", "--tail", "30", n, env_path=env, check=False) for n in waiting
            }
            pytest.fail(f"not ready after 240 s: {sorted(waiting)}\n{logs}")
        yield env
    finally:
        compose("down", "-v", "-t", "10", env_path=env, check=False)


def test_every_service_of_the_compose_file_becomes_ready(compose_up):
    for name, port in SERVICES.items():
        r = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
        assert r.status_code == 200, (name, r.text)
    assert httpx.get(f"{MAILBOX}/api/v1/messages", timeout=5).status_code == 200


def test_signing_up_on_the_compose_cluster_sends_the_confirmation_email(compose_up):
    from secop_testcontainers import Mailbox

    email = f"compose.{uuid.uuid4().hex[:8]}@example.com"
    user = {
        "full_name": "Carlos Pérez",
        "country": "CO",
        "document_type": "CC",
        "document_number": str(uuid.uuid4().int)[:10],
        "email": email,
        "username": f"carlos{uuid.uuid4().hex[:8]}",
        "password": "Otra-clave-larga-7",
        "password_confirmation": "Otra-clave-larga-7",
        "security_question": "¿Ciudad natal?",
        "security_answer": "Cali",
        "mobile_phone": "+573001234567",
        "time_zone": "America/Bogota",
        "account_name": "Carlos SAS",
        "accept_terms": True,
    }
    r = httpx.post("http://127.0.0.1:8001/users", json=user, timeout=30)
    assert r.status_code == 201, r.text
    [mail] = Mailbox(MAILBOX).wait_for(email, subject="Activación", timeout=90)
    # the link opens the portal's page (a GET never spends the token)
    assert "http://localhost:8000/ConfirmAccount?ConfirmationGuid=" in mail["Text"] + mail["HTML"]
    [link] = [u for u in links_in(mail) if "/ConfirmAccount?" in u]
    page = httpx.get(link.replace("localhost", "127.0.0.1"), timeout=30)
    assert page.status_code == 200 and "Confirmar registro" in page.text


def _env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.startswith("KAFKA_PASSWORD_"):
            values[name] = value.strip("'")
    return values


def test_the_compose_broker_admits_only_its_principals_and_analytics_reads_copies(
    compose_up, tmp_path
):
    """compose.yaml ran Kafka in PLAINTEXT without authentication."""
    from confluent_kafka import Consumer, KafkaException
    from confluent_kafka.admin import AdminClient
    from secop_devinfra.containers.podman import podman

    anonymous = AdminClient({"bootstrap.servers": "127.0.0.1:9092", "socket.timeout.ms": 3000})
    with pytest.raises(KafkaException):
        anonymous.list_topics(timeout=8)
    [name] = (
        podman("ps", "--filter", "label=com.docker.compose.service=kafka", "--format", "{{.Names}}")
        .stdout.decode()
        .split()
    )
    ca = tmp_path / "ca.pem"
    ca.write_bytes(podman("exec", name, "cat", "/etc/kafka/secrets/ca.pem").stdout)
    analytics = {
        "bootstrap.servers": "localhost:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "analytics",
        "sasl.password": _env(compose_up)["KAFKA_PASSWORD_ANALYTICS"],
        "ssl.ca.location": str(ca),
    }
    consumer = Consumer(
        analytics
        | {
            "group.id": f"analytics-compose-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    try:
        consumer.subscribe(["analytics.UserRegistered"])
        copies: list[bytes] = []
        deadline = time.monotonic() + 90
        while not copies and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and not msg.error():
                copies.append(msg.value())
        assert copies, "the projector copied no sign-up (the sign-up test runs first)"
        assert b"@example.com" not in b"".join(copies)  # no email left in the copies
    finally:
        consumer.close()
