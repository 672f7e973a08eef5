"""What downstream teams get from secop_testcontainers, exercised as they would use it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from pymongo import MongoClient

pytestmark = pytest.mark.containers


def test_every_part_of_the_containerised_cluster_answers(secop_cluster):
    for name in ("registration", "membership", "support", "notification"):
        ready = httpx.get(f"{secop_cluster.url(name)}/health/ready", timeout=10)
        assert ready.status_code == 200, (name, ready.text)
    with MongoClient(secop_cluster.mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        assert client.admin.command("ping")["ok"]
    assert secop_cluster.mailbox.messages_to("nobody@example.com") == []
    host, _, port = secop_cluster.kafka_bootstrap.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0


# The README's example (testcontainers-secop/README.md), verbatim.
# fmt: off
def test_signing_up_sends_the_confirmation_email(secop_cluster):
    email = f"ana.{uuid.uuid4().hex[:8]}@example.com"
    user = {"full_name": "Ana Gómez", "country": "CO", "document_type": "CC",
            "document_number": str(uuid.uuid4().int)[:10], "email": email,
            "username": f"ana{uuid.uuid4().hex[:8]}", "password": "Una-clave-larga-9",
            "password_confirmation": "Una-clave-larga-9", "security_question": "¿Mascota?",
            "security_answer": "Firulais", "mobile_phone": "+573001234567",
            "time_zone": "America/Bogota", "account_name": "Ana SAS", "accept_terms": True}
    r = httpx.post(f"{secop_cluster.url('registration')}/users", json=user, timeout=30)
    assert r.status_code == 201, r.text
    [mail] = secop_cluster.mailbox.wait_for(email, subject="Activación")
    assert "ConfirmAccount?ConfirmationGuid=" in mail["Text"] + mail["HTML"]
# fmt: on


def _read(config: dict[str, str], topic: str, timeout: float = 90.0) -> list[bytes]:
    """Every record of ``topic`` from the start, read with ``config`` (confluent-kafka)."""
    from confluent_kafka import Consumer, KafkaException

    consumer = Consumer(
        config
        | {
            "group.id": f"analytics-test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        values: list[bytes] = []
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                if values:
                    return values
                continue
            if msg.error():
                raise KafkaException(msg.error())
            values.append(msg.value())
        return values
    finally:
        consumer.close()


def test_analytics_reads_only_pseudonymised_copies_with_its_own_principal(secop_cluster):
    """The cluster's Kafka is secured as in production: the analytics principal reads the
    projector's copies, in which no personal data is left, and nothing else."""
    from confluent_kafka import KafkaException

    email = f"luz.{uuid.uuid4().hex[:8]}@example.com"
    document = str(uuid.uuid4().int)[:10]
    user = {
        "full_name": "Luz Arango",
        "country": "CO",
        "document_type": "CC",
        "document_number": document,
        "email": email,
        "username": f"luz{uuid.uuid4().hex[:8]}",
        "password": "Una-clave-larga-9",
        "password_confirmation": "Una-clave-larga-9",
        "security_question": "¿Mascota?",
        "security_answer": "Firulais",
        "mobile_phone": "+573001234567",
        "time_zone": "America/Bogota",
        "account_name": "Luz SAS",
        "accept_terms": True,
    }
    r = httpx.post(f"{secop_cluster.url('registration')}/users", json=user, timeout=30)
    assert r.status_code == 201, r.text
    analytics = secop_cluster.analytics.librdkafka()
    copies = b"".join(_read(analytics, "analytics.UserRegistered"))
    assert copies, "the projector copied nothing"
    for personal in (email, document, "Luz Arango", "+573001234567", user["username"]):
        assert personal.encode() not in copies
    with pytest.raises(KafkaException, match=r"(?i)authoriz"):
        _read(analytics, "UserRegistered", timeout=20)
