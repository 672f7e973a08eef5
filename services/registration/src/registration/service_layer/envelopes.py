"""Events from the domain's payloads: the envelope (producer, correlation) is added here.

The domain returns the contracts' payload models; each belongs to exactly one event type.
"""

from __future__ import annotations

from collections.abc import Iterable

from secop_contracts import Event
from secop_contracts.envelope import Payload
from secop_contracts.registration import EVENTS
from secop_runtime.events import new_event

EVENT_OF: dict[type[Payload], type[Event]] = {
    cls.model_fields["payload"].annotation: cls for cls in EVENTS
}


def envelop(producer: str, payloads: Iterable[Payload]) -> list[Event]:
    """Each payload in its event, caused by the request or event being handled."""
    return [new_event(EVENT_OF[type(p)], producer, p) for p in payloads]
