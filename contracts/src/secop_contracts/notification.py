"""Events published by the notification service, keyed by ``delivery_id``.

For analytics counting deliveries: template, recipient domain and timings; never the body, the
full address or a token.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from secop_contracts.envelope import Event, Payload, personal_data


class EmailSentPayload(Payload):
    delivery_id: str
    template: str
    recipient_domain: str
    source_event_id: UUID
    source_event_type: str
    attempts: int
    queued_at: datetime
    sent_at: datetime
    latency_ms: int


class EmailSent(Event):
    """An email was accepted by the SMTP relay."""

    KEY_FIELD: ClassVar[str] = "delivery_id"
    payload: EmailSentPayload


class EmailFailedPayload(Payload):
    delivery_id: str
    template: str
    recipient_domain: str
    source_event_id: UUID
    source_event_type: str
    attempts: int
    permanent: bool
    abandoned: bool
    error: str = personal_data(description="The SMTP reply: it may repeat the address.")
    failed_at: datetime
    next_attempt_at: datetime | None = None


class EmailFailed(Event):
    """A delivery attempt failed; ``abandoned`` when no further attempt will be made."""

    KEY_FIELD: ClassVar[str] = "delivery_id"
    payload: EmailFailedPayload


EVENTS: tuple[type[Event], ...] = (EmailSent, EmailFailed)
