"""Events the runtime's tests send through consumers (unit and integration alike)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from secop_contracts.registration import UserRegistered, UserRegisteredPayload


def user_registered(producer: str = "registration") -> UserRegistered:
    now = datetime.now(UTC)
    return UserRegistered(
        producer=producer,
        payload=UserRegisteredPayload(
            user_id=uuid4(),
            username="ana.perez",
            full_name="Ana Pérez",
            email="ana@example.co",
            country="CO",
            document_type="CC",
            document_number="1020304050",
            mobile_phone="+573001234567",
            time_zone="America/Bogota",
            account_name="ALCALDIA",
            sealed_confirmation_token="c2VhbGVk",
            confirmation_expires_at=now + timedelta(hours=24),
            registered_at=now,
        ),
    )
