"""Small value objects shared by several events."""

from __future__ import annotations

from uuid import UUID

from secop_contracts.envelope import Payload, personal_data


class PersonRef(Payload):
    """A user as other services need to address them, without calling registration."""

    user_id: UUID
    full_name: str = personal_data()
    email: str = personal_data()
    time_zone: str = "America/Bogota"
