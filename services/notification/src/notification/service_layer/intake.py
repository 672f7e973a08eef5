"""From an event to delivery records: fast, idempotent, and nothing is sent here.

The consumer only records what must be sent (one record per event, recipient and template, with
a deterministic id) and wakes the sender; a redelivered event or a second instance creates
nothing new (the id is taken).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from secop_contracts import Event
from secop_runtime import tracing

from notification.adapters.store import Deliveries
from notification.domain.delivery import Delivery, delivery_id, normalise_address
from notification.domain.plans import plan

log = logging.getLogger(__name__)


def deliveries_for(event: Event, now: datetime, max_attempts: int) -> list[Delivery]:
    trace = tracing.carrier() or None
    return [
        Delivery(
            id=delivery_id(str(event.event_id), spec.address, spec.template),
            source_event_id=str(event.event_id),
            source_event_type=event.event_type,
            template=spec.template,
            recipient=normalise_address(spec.address),
            recipient_name=spec.name,
            time_zone=spec.time_zone,
            context=spec.context,
            sealed_token=spec.sealed_token,
            correlation_id=event.correlation_id,
            trace=trace,
            queued_at=now,
            next_attempt_at=now,
            updated_at=now,
            attempt_limit=max_attempts,
        )
        for spec in plan(event)
    ]


async def accept_event(store: Deliveries, event: Event, max_attempts: int) -> list[Delivery]:
    """Record the emails ``event`` causes; returns the records that are new (as stored)."""
    created: list[Delivery] = []
    for d in deliveries_for(event, datetime.now(UTC), max_attempts):
        if stored := await store.add(d):
            created.append(stored)
            log.info(
                "email queued",
                extra={"delivery_id": d.id, "template": d.template, "event": event.event_type},
            )
    return created
