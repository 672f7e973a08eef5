"""Event subscribers of the notification service: every event a person must hear about."""

from __future__ import annotations

from secop_contracts import Event
from secop_runtime.service import Late, ServiceRuntime

from notification.domain.plans import PLANS
from notification.service_layer.context import Context
from notification.service_layer.intake import accept_event

DESCRIPTION = (
    "Record the emails this event causes (one delivery per recipient and template, "
    "idempotent) and wake the sender; nothing is sent inside the handler."
)


def register(runtime: ServiceRuntime, context: Late[Context]) -> None:
    """One subscriber per consumed topic (group = service name, AckPolicy.ACK, dead letters)."""

    async def on_event(event: Event) -> None:
        ctx = context()
        created = await accept_event(ctx.store, event, ctx.settings.delivery_max_attempts)
        if created:
            ctx.sender.wake(created)

    for event_type in PLANS:
        # Each delivery's _id derives from the event's id: a redelivery inserts nothing.
        runtime.subscribe(
            [event_type], on_event, f"{event_type.TOPIC}: {DESCRIPTION}", keyed_by_event=True
        )
