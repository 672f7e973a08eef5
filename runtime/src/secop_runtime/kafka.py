"""Kafka wiring: one FastStream broker per service, an idempotent producer, explicit topics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from secop_contracts.access import DEAD_LETTER_SUFFIX

from secop_runtime.settings import ServiceSettings, secret

log = logging.getLogger(__name__)


#: Broker-side failures worth waiting out rather than dead-lettering a message for.
TRANSIENT_KAFKA_ERRORS: tuple[type[Exception], ...] = (KafkaConnectionError, KafkaError)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


def security(settings: ServiceSettings) -> BaseSecurity | None:
    """TLS (and a SCRAM principal) for every client of the service, or None for PLAINTEXT.

    The broker's certificate is verified, host name included, against ``kafka_ca_file`` (or
    the system's authorities): a client never sends its password to an unverified peer.
    """
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    context = create_ssl_context(cafile=settings.kafka_ca_file or None)
    if settings.kafka_security_protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(
        settings.kafka_username, secret(settings.kafka_password), ssl_context=context, use_ssl=True
    )


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """The same security as keyword arguments of aiokafka's clients (admin, raw consumers).

    FastStream's own translation, so the broker and the bare clients can never differ.
    """
    return parse_security(security(settings))


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """The service's broker. The producer is idempotent, which forces ``acks=all``.

    Subscribers default to ``AckPolicy.ACK`` (commit after the handler), and every subscriber we
    register also names its policy explicitly.
    """
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-{settings.instance_id}",
        enable_idempotence=True,
        acks="all",
        ack_policy=AckPolicy.ACK,
        graceful_timeout=settings.kafka_graceful_timeout_s,
        logger=logging.getLogger(f"{settings.service_name}.kafka"),
        security=security(settings),
    )


async def _until_listed(admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 15) -> None:
    """Wait until the broker's metadata shows new topics, so clients starting next find them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not set(topics) <= set(await admin.list_topics()):
        if asyncio.get_running_loop().time() > deadline:
            return  # clients retry on their own; this only spares them a noisy start
        await asyncio.sleep(0.1)


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication_factor: int,
    **options: Any,
) -> list[str]:
    """Create the topics that do not exist yet; the broker never auto-creates them.

    ``options``: the client's security (``client_options``).
    """
    wanted = sorted(set(names))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="topic-setup", **options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in wanted if n not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(n, partitions, replication_factor) for n in missing]
        )
        created = []
        for topic, code, *_ in response.topic_errors:
            if code == 0:
                created.append(topic)
            elif code != TopicAlreadyExistsError.errno:
                raise KafkaError(f"could not create topic {topic}: error code {code}")
        if created:
            await _until_listed(admin, created)
            log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()
