"""Every event type by name, and decoding of raw messages."""

from __future__ import annotations

import json
from collections.abc import Iterable

from secop_contracts import membership, notification, registration, support
from secop_contracts.envelope import Event

ALL_EVENTS: tuple[type[Event], ...] = (
    *registration.EVENTS,
    *membership.EVENTS,
    *support.EVENTS,
    *notification.EVENTS,
)
EVENTS_BY_TYPE: dict[str, type[Event]] = {cls.TOPIC: cls for cls in ALL_EVENTS}
#: Which service owns (alone may publish) each event type: the module that defines it. The
#: broker's write ACLs and the consumers' ``producer`` check both derive from this one map.
OWNER_BY_TYPE: dict[str, str] = {
    cls.TOPIC: service
    for service, module in (
        ("registration", registration),
        ("membership", membership),
        ("support", support),
        ("notification", notification),
    )
    for cls in module.EVENTS
}


class UnknownEventError(ValueError):
    """The message names an event type this consumer does not know."""


def owner_of(event_type: type[Event] | str) -> str:
    """The service that alone may publish this event type."""
    name = event_type if isinstance(event_type, str) else event_type.TOPIC
    return OWNER_BY_TYPE[name]


def topic_of(event_type: type[Event], prefix: str = "") -> str:
    """The topic of an event type: its name, optionally prefixed (isolated test clusters)."""
    return f"{prefix}{event_type.TOPIC}"


def parse_event(raw: bytes | str, accept: Iterable[type[Event]] | None = None) -> Event:
    """Decode one message into its event model.

    Raises ``ValueError`` (``json.JSONDecodeError``, ``UnknownEventError`` or pydantic's
    ``ValidationError``) when the message cannot be an event this consumer accepts.
    """
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise UnknownEventError("an event must be a JSON object")
    name = data.get("event_type")
    known = {cls.TOPIC: cls for cls in accept} if accept is not None else EVENTS_BY_TYPE
    cls = known.get(name) if isinstance(name, str) else None
    if cls is None:
        raise UnknownEventError(f"unknown event_type {name!r}")
    return cls.model_validate(data)
