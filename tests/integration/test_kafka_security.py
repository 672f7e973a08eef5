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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
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
from tests.integration.test_reliability import user_registered as registered
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

    def settings(self, principal: str, prefix: str, **extra: object) -> ServiceSettings:
        env = self.secrets.client_env(principal)
        return ServiceSettings(
            service_name=principal,
            kafka_bootstrap_servers=self.bootstrap,
            kafka_topic_prefix=prefix,
            kafka_topic_partitions=1,
            kafka_security_protocol=env["KAFKA_SECURITY_PROTOCOL"],
            kafka_username=env["KAFKA_USERNAME"],
            kafka_password=env["KAFKA_PASSWORD"],
            kafka_ca_file=env["KAFKA_CA_FILE"],
            **extra,  # type: ignore[arg-type]
        )

    def options(self, principal: str) -> dict[str, object]:
        return client_options(self.settings(principal, ""))


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
    await asyncio.to_thread(provision, admin, (f"{uid}.analytics.UserRegistered",))
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
    assert len(await read_topic(secure_kafka.bootstrap, copy, **analytics)) == 1
    with pytest.raises((TopicAuthorizationFailedError, AssertionError)):
        await read_topic(secure_kafka.bootstrap, raw, timeout=5, **analytics)
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
