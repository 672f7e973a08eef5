"""Events that cross SECOP accounts service boundaries.

This package is the public API for analytics consumers: it depends on pydantic only. Every event
is a frozen model with the common envelope (see :mod:`secop_contracts.envelope`), published on a
topic named after its type and keyed by its aggregate id.
"""

from secop_contracts.envelope import Event, personal_data, sealed
from secop_contracts.registry import (
    ALL_EVENTS,
    EVENTS_BY_TYPE,
    OWNER_BY_TYPE,
    UnknownEventError,
    owner_of,
    parse_event,
    topic_of,
)

__all__ = [
    "ALL_EVENTS",
    "EVENTS_BY_TYPE",
    "OWNER_BY_TYPE",
    "Event",
    "UnknownEventError",
    "owner_of",
    "parse_event",
    "personal_data",
    "sealed",
    "topic_of",
]
