"""Building events inside a service: envelope fields come from the work in progress."""

from __future__ import annotations

from typing import Any, TypeVar

from secop_contracts import Event
from secop_contracts.envelope import Payload

from secop_runtime import context

E = TypeVar("E", bound=Event)


def new_event(cls: type[E], producer: str, payload: Payload | dict[str, Any]) -> E:
    """An event caused by the current request or event (correlation and causation filled in)."""
    return cls(
        producer=producer,
        correlation_id=context.correlation_id.get(),
        causation_id=context.causation_id.get(),
        payload=payload,
    )
