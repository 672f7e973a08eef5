"""Kafka's trust boundary on a real broker: TLS, one SCRAM principal each, ACLs from contracts.

The broker here runs as ``secop_devinfra.kafka_security`` configures it (SASL_SSL only,
``StandardAuthorizer``, nothing allowed without an ACL); topics and grants come from
``secop_runtime.kafka_provisioning`` with the admin principal, as in a deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from secop_contracts.registration import UserRegistered
from secop_contracts.support import AccountActivationDecided
from secop_devinfra.infra import Endpoints, KafkaServer
from secop_devinfra.kafka_security import KafkaSecrets, load_or_create
from secop_devinfra.procs import free_ports
from secop_runtime.kafka import client_options, dead_letter_topic
from secop_runtime.kafka_provisioning import provision
from secop_runtime.settings import ServiceSettings

from tests.integration.test_reliability import counting_consumer, running, times_applied
from tests.support.events import user_registered as registered
from tests.support.kafka import produce_raw, read_topic
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("SECOP_TEST_INFRA") == "containers",
        reason="starts its own secured broker: run once, in the local phase",
    ),
]


class SecureKafka:
    def __init__(self, bootstrap: str, secrets: KafkaSecrets) -> None:
        self.bootstrap, self.secrets = bootstrap, secrets

    def settings(
        self,
        principal: str,
        prefix: str,
        cls: type[ServiceSettings] = ServiceSettings,
        **extra: object,
    ) -> ServiceSettings:
        """``cls`` (a service's own settings) for a client acting as ``principal``."""
        fields = self.secrets.client_fields(principal)
        return cls(
            service_name=principal,
            kafka_bootstrap_servers=self.bootstrap,
            kafka_topic_prefix=prefix,
            kafka_topic_partitions=1,
            **fields,
            **extra,  # type: ignore[arg-type]
        )

    def options(self, principal: str) -> dict[str, object]:
        return client_options(self.settings(principal, ""))


async def refused_to_read(bootstrap: str, topic: str, options: dict[str, object]) -> None:
    """The broker refuses ``topic`` to this client: its metadata answers "not authorised" and
    a direct fetch of its first partition yields nothing (aiokafka logs, it does not raise)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **options)  # type: ignore[arg-type]
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        assert await consumer.getmany(timeout_ms=3000) == {}
        assert topic in consumer._client.cluster.unauthorized_topics
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    folder: Path = tmp_path_factory.mktemp("secure-kafka")
    secrets = load_or_create(folder / "secrets")
    port, controller = free_ports(2)
    server = KafkaServer(folder / "kafka", port, controller, partitions=1, secrets=secrets)
    server.start()
    try:
        yield SecureKafka(f"127.0.0.1:{port}", secrets)
    finally:
        server.stop()


@pytest.fixture
async def prefix(secure_kafka: SecureKafka, uid: str) -> str:
    """Every topic and grant of the cluster, under this test's own prefix."""
    admin = secure_kafka.settings("admin", f"{uid}.")
    await asyncio.to_thread(provision, admin)
    return f"{uid}."


async def test_a_client_without_tls_and_credentials_cannot_connect(secure_kafka) -> None:
    for options in (
        {},  # PLAINTEXT, anonymous
        {**secure_kafka.options("registration"), "sasl_plain_password": "not-the-password"},
    ):
        producer = AIOKafkaProducer(
            bootstrap_servers=secure_kafka.bootstrap, request_timeout_ms=5000, **options
        )
        with pytest.raises(KafkaError):
            await asyncio.wait_for(producer.start(), 30)
        await producer.stop()


async def test_only_the_owner_may_write_a_topic(secure_kafka, prefix) -> None:
    topic = f"{prefix}{AccountActivationDecided.TOPIC}"
    with pytest.raises(TopicAuthorizationFailedError):
        await produce_raw(
            secure_kafka.bootstrap, topic, b"{}", **secure_kafka.options("notification")
        )
    await produce_raw(secure_kafka.bootstrap, topic, b"{}", **secure_kafka.options("support"))
    assert len(await read_topic(secure_kafka.bootstrap, topic, **secure_kafka.options("admin")))


async def test_analytics_reads_only_the_pseudonymised_copy_and_writes_nothing(
    secure_kafka, prefix
) -> None:
    analytics = secure_kafka.options("analytics")
    raw, copy = f"{prefix}UserRegistered", f"{prefix}analytics.UserRegistered"
    admin = secure_kafka.options("admin")
    await produce_raw(secure_kafka.bootstrap, copy, b'{"pseudonymised": true}', **admin)
    await produce_raw(secure_kafka.bootstrap, raw, b"{}", **secure_kafka.options("registration"))
    assert len(await read_topic(secure_kafka.bootstrap, copy, **analytics)) == 1
    assert len(await read_topic(secure_kafka.bootstrap, raw, **admin)) == 1  # there to be read
    await refused_to_read(secure_kafka.bootstrap, raw, analytics)
    for topic in (raw, copy):  # refused at the first step: not even a producer id
        with pytest.raises((ClusterAuthorizationFailedError, TopicAuthorizationFailedError)):
            await produce_raw(secure_kafka.bootstrap, topic, b"{}", **analytics)
    consumer = AIOKafkaConsumer(
        raw, bootstrap_servers=secure_kafka.bootstrap, group_id=f"{prefix}membership", **analytics
    )
    with contextlib.suppress(KafkaError):  # its group is not analytics': refused outright
        await consumer.start()
        with pytest.raises(KafkaError):
            await asyncio.wait_for(consumer.getmany(timeout_ms=3000), 20)
    await consumer.stop()


async def test_a_service_runs_with_its_own_principal_and_dead_letters_a_forged_producer(
    secure_kafka, prefix, infra: Endpoints, uid: str
) -> None:
    settings = secure_kafka.settings(
        "membership",
        prefix,
        mongodb_uri=infra.mongodb_uri,
        mongodb_database=f"{uid}_membership",
        consumer_max_attempts=2,
        consumer_retry_backoff_s=0.01,
    )
    consumer = counting_consumer(infra, uid, settings=settings)
    topic = f"{prefix}{UserRegistered.TOPIC}"
    forged, good = registered(producer="membership"), registered()
    writer = secure_kafka.options("registration")  # valid credentials, forged envelope
    async with running(consumer):
        await produce_raw(secure_kafka.bootstrap, topic, forged.to_json(), **writer)
        await produce_raw(secure_kafka.bootstrap, topic, good.to_json(), **writer)
        await eventually(lambda: times_applied(consumer, good.event_id))
        dead = await read_topic(
            secure_kafka.bootstrap, dead_letter_topic(topic), **secure_kafka.options("admin")
        )
        assert await times_applied(consumer, forged.event_id) == 0
    assert [r.value for r in dead] == [forged.to_json()]
    assert b"must be produced by registration" in dict(dead[0].headers)["dlt-error"]


async def test_a_principals_password_rotates_without_a_moment_when_neither_works(
    secure_kafka, prefix
) -> None:
    """The README's rotation: new password under the other SCRAM mechanism, then drop the old."""
    from confluent_kafka.admin import AdminClient
    from secop_runtime.kafka_provisioning import admin_config, delete_credential, set_password

    admin = AdminClient(admin_config(secure_kafka.settings("admin", prefix)))
    topic = f"{prefix}{AccountActivationDecided.TOPIC}"
    old = secure_kafka.settings("support", prefix)
    new = old.model_copy(
        update={"kafka_sasl_mechanism": "SCRAM-SHA-256", "kafka_password": "a-new-password-0123"}
    )
    await asyncio.to_thread(set_password, admin, "support", "a-new-password-0123", "SCRAM-SHA-256")
    for settings in (old, new):  # both log in while instances move over
        await produce_raw(secure_kafka.bootstrap, topic, b"{}", **client_options(settings))
    await asyncio.to_thread(delete_credential, admin, "support", "SCRAM-SHA-512")
    await produce_raw(secure_kafka.bootstrap, topic, b"{}", **client_options(new))
    with pytest.raises(KafkaError):
        await asyncio.wait_for(
            produce_raw(
                secure_kafka.bootstrap, topic, b"{}", request_timeout_ms=5000, **client_options(old)
            ),
            30,
        )


async def test_the_projector_copies_each_event_once_with_personal_data_keyed_hashed(
    secure_kafka, prefix, uid: str
) -> None:
    import json

    from projector.config import Settings
    from projector.stream import Projector
    from secop_contracts.analytics import keyed_hash

    key = "k" * 16 + uid * 3
    settings = secure_kafka.settings("projector", prefix, Settings, pseudonym_key=key)
    event, forged = registered(), registered(producer="support")
    raw = f"{prefix}UserRegistered"
    for record in (event, forged):
        await produce_raw(
            secure_kafka.bootstrap,
            raw,
            record.to_json(),
            key=record.key.encode(),
            **secure_kafka.options("registration"),
        )
    projector = Projector(settings)  # type: ignore[arg-type]
    await projector.start()
    try:
        committed = {"isolation_level": "read_committed"}
        [copy] = await read_topic(
            secure_kafka.bootstrap,
            f"{prefix}analytics.UserRegistered",
            **secure_kafka.options("analytics"),
            **committed,
        )
        [dead] = await read_topic(
            secure_kafka.bootstrap,
            f"{prefix}analytics.UserRegistered.DLT",
            **secure_kafka.options("admin"),
            **committed,
        )
    finally:
        await projector.stop()
    data = json.loads(copy.value)
    payload = data["payload"]
    assert data["event_id"] == str(event.event_id) and copy.key == event.key.encode()
    assert payload["user_id"] == str(event.payload.user_id)  # ids stay: joins work
    assert payload["email"] == keyed_hash(event.payload.email, key.encode())
    text = copy.value.decode()
    for personal in ("ana@example.co", "Ana Pérez", "ana.perez", "1020304050", "+573001234567"):
        assert personal not in text
    assert "sealed_confirmation_token" not in payload
    assert dead.value == forged.to_json()  # not copied: its producer is not the owner
    await refused_to_read(
        secure_kafka.bootstrap,
        f"{prefix}analytics.UserRegistered.DLT",
        secure_kafka.options("analytics"),
    )
