"""Reading and writing topics directly, as an analytics consumer or a broken producer would.

On a broker with security on, these helpers connect as the admin principal (a test reads and
writes anything) unless given other ``options``; ``use_security`` registers the broker's
secrets once per session, and ``grant`` gives a service's principal its ACLs for a test's
topic prefix, as provisioning does in a deployment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.admin import (
    DescribeGroupsRequest,
    DescribeGroupsRequest_v0,
    DescribeGroupsRequest_v1,
    DescribeGroupsRequest_v2,
)
from secop_devinfra.infra import Endpoints
from secop_runtime.kafka import client_options, security
from secop_runtime.settings import ServiceSettings

#: bootstrap address -> the endpoints whose secrets its clients use
_SECURED: dict[str, Endpoints] = {}
_GRANTED: set[tuple[str, str, str]] = set()


def use_security(infra: Endpoints) -> None:
    if infra.kafka_secrets is not None:
        _SECURED[infra.kafka_bootstrap] = infra


def principal_settings(infra: Endpoints, principal: str) -> dict[str, Any]:
    """``ServiceSettings`` fields for a client acting as ``principal`` (empty: no security)."""
    return infra.kafka_fields(principal)


def probe_settings(
    infra: Endpoints, uid: str, name: str, partitions: int = 1, **overrides: Any
) -> ServiceSettings:
    """A probe runtime's settings: it tests the runtime's mechanics, not authorisation, so it
    connects as the admin principal (any topic, any group), under the test's prefix."""
    values: dict[str, Any] = {
        **principal_settings(infra, "admin"),
        "service_name": name,
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "mongodb_uri": infra.mongodb_uri,
        "mongodb_database": f"{uid}_{name}",
        "kafka_topic_prefix": f"{uid}.",
        "kafka_topic_partitions": partitions,
        "outbox_poll_interval_s": 0.2,
        "consumer_max_attempts": 3,
        "consumer_retry_backoff_s": 0.01,
    }
    return ServiceSettings(**(values | overrides))


def _settings(bootstrap: str, principal: str) -> ServiceSettings | None:
    """Settings of ``principal`` on this broker; None when it runs without security."""
    infra = _SECURED.get(bootstrap)
    if infra is None:
        return None
    return ServiceSettings(kafka_bootstrap_servers=bootstrap, **infra.kafka_fields(principal))


def options_for(bootstrap: str, principal: str = "admin") -> dict[str, Any]:
    """aiokafka keyword arguments for ``principal`` on this broker (empty: PLAINTEXT)."""
    settings = _settings(bootstrap, principal)
    return client_options(settings) if settings else {}


def admin_security(bootstrap: str) -> Any:
    """FastStream's ``security=`` for the admin principal on this broker (None: PLAINTEXT)."""
    settings = _settings(bootstrap, "admin")
    return security(settings) if settings else None


def _options(bootstrap: str, options: dict[str, Any]) -> dict[str, Any]:
    return options or options_for(bootstrap)


def grant(infra: Endpoints, prefix: str, service: str) -> None:
    """Give ``service``'s principal its grants on topics named ``prefix...`` (once)."""
    if (infra.kafka_bootstrap, prefix, service) not in _GRANTED:
        infra.grant(prefix, (service,))
        _GRANTED.add((infra.kafka_bootstrap, prefix, service))


async def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options_for(bootstrap))
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def produce_raw(
    bootstrap: str,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    **options: Any,
) -> None:
    """``options``: the client's security (``secop_runtime.kafka.client_options``)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, **_options(bootstrap, options)
    )
    try:
        await producer.start()
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def produce_to_partitions(
    bootstrap: str, topic: str, records: Iterable[tuple[bytes, int]], partitions: int
) -> None:
    """Create ``topic`` with ``partitions`` (if missing), then write each value to its
    partition, in order, before any consumer runs: they reach it as batches."""
    await create_topic(bootstrap, topic, partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, **options_for(bootstrap)
    )
    await producer.start()
    try:
        for value, partition in records:
            await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, *, at_least: int = 1, timeout: float = 30.0, **options: Any
) -> list[Any]:
    """Every record on ``topic`` from the beginning, once ``at_least`` are there (no group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **_options(bootstrap, options)
    )
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        partitions: set[int] | None = None
        while partitions is None:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                await consumer._client.force_metadata_update()  # topic may be brand new
                partitions = consumer.partitions_for_topic(topic)
                if partitions is None:
                    if loop.time() > deadline:
                        raise AssertionError(f"topic {topic} does not exist")
                    await asyncio.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        while len(records) < at_least:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{len(records)} record(s) on {topic}, expected {at_least}")
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            for msgs in batch.values():
                records.extend(msgs)
        return records
    finally:
        await consumer.stop()


def json_values(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


class _DescribeGroupsUpToV2(DescribeGroupsRequest):
    # aiokafka 0.14 pairs the v3 request with the v2 response schema, so a broker that answers
    # v3 (Kafka 4.x) fails with "Buffer underrun decoding string": stay at v2.
    _CLASSES = (DescribeGroupsRequest_v0, DescribeGroupsRequest_v1, DescribeGroupsRequest_v2)


async def describe_groups(bootstrap: str, prefix: str) -> dict[str, tuple[str, int]]:
    """State and member count of every consumer group whose name starts with ``prefix``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options_for(bootstrap))
    await admin.start()
    try:
        found: dict[str, tuple[str, int]] = {}
        for group, *_ in await admin.list_consumer_groups():
            if not group.startswith(prefix):
                continue
            coordinator = await admin.find_coordinator(group)
            response = await admin._client.send(coordinator, _DescribeGroupsUpToV2([group]))
            for _error, name, state, _ptype, _proto, members in response.groups:
                found[name] = (state, len(members))
        return found
    finally:
        await admin.close()
