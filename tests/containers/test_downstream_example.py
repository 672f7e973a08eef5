"""What downstream teams get from secop_testcontainers, exercised as they would use it."""

from __future__ import annotations

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
