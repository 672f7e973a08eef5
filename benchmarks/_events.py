"""Preloading a topic with real contract events, as the producers would have published them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from secop_contracts import Event
from secop_contracts.registration import (
    PasswordChanged,
    PasswordChangedPayload,
    UserRegistered,
    UserRegisteredPayload,
)

from tests.support.kafka import create_topic, options_for


def user_registered(i: int, tag: str) -> UserRegistered:
    now = datetime.now(UTC)
    return UserRegistered(
        producer="registration",
        payload=UserRegisteredPayload(
            user_id=uuid.uuid4(),
            username=f"{tag}.{i}",
            full_name=f"Persona {i}",
            email=f"{tag}.{i}@bench.example.co",
            country="CO",
            document_type="CC",
            document_number=f"{i:010d}",
            mobile_phone="+573001234567",
            time_zone="America/Bogota",
            account_name="ALCALDIA",
            sealed_confirmation_token="x",
            registered_at=now,
            confirmation_expires_at=now + timedelta(hours=24),
        ),
    )


def password_changed(i: int, tag: str) -> PasswordChanged:
    return PasswordChanged(
        producer="registration",
        payload=PasswordChangedPayload(
            user_id=uuid.uuid4(),
            username=f"{tag}.{i}",
            full_name=f"Persona {i}",
            email=f"{tag}.{i}@bench.example.co",
            time_zone="America/Bogota",
            via="profile",
            changed_at=datetime.now(UTC),
        ),
    )


async def preload(
    bootstrap: str, topic: str, count: int, make: Callable[[int], Event], partitions: int = 3
) -> None:
    await create_topic(bootstrap, topic, partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5, **options_for(bootstrap)
    )
    await producer.start()
    try:
        futures = []
        for i in range(count):
            event = make(i)
            futures.append(await producer.send(topic, event.to_json(), key=event.key.encode()))
        for future in futures:
            await future
    finally:
        await producer.stop()
