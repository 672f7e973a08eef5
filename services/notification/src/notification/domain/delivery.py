"""One email's delivery: its identity, its states and the transitions between them.

``queued -> sending -> sent``; a failed attempt goes to ``retrying`` (exponential back-off) and,
after the attempt limit or at once on a permanent refusal, to ``abandoned``. An operator may put
an ``abandoned`` or ``retrying`` delivery back to ``queued`` with a fresh attempt budget.

Pure functions over a frozen record: the store persists what they return, as one conditional
write on the ``version`` the record was read at (``adapters/store.py``). The rules stay plain
functions over a dataclass (no pydantic model): they need no I/O and no base class to be tested,
and a stale decision is refused by the store, not here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from secop_runtime.errors import Conflict

State = Literal["queued", "sending", "sent", "retrying", "abandoned"]
STATES: tuple[State, ...] = ("queued", "sending", "sent", "retrying", "abandoned")
#: States the sender looks at (``sending`` only once its lease has run out).
ACTIVE: tuple[State, ...] = ("queued", "retrying", "sending")
RETRYABLE_BY_OPERATOR: tuple[State, ...] = ("abandoned", "retrying")

_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


class NotRetryable(Conflict):
    """The operator asked to retry a delivery that is not abandoned or retrying (409)."""


def normalise_address(address: str) -> str:
    return address.strip().lower()


def delivery_id(source_event_id: str, recipient: str, template: str) -> str:
    """Same event, recipient and template: same id, so a redelivery creates nothing new."""
    key = f"{source_event_id}|{normalise_address(recipient)}|{template}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def recipient_domain(address: str) -> str:
    return address.rpartition("@")[2].lower() if "@" in address else ""


def redact(text: str) -> str:
    """SMTP replies often quote the address: keep errors free of it for events and logs."""
    return _ADDRESS.sub("<address>", text)[:500]


@dataclass(frozen=True)
class Delivery:
    id: str
    source_event_id: str
    source_event_type: str
    template: str
    recipient: str
    recipient_name: str
    time_zone: str
    context: dict[str, Any]
    queued_at: datetime
    next_attempt_at: datetime
    sealed_token: str | None = None
    correlation_id: str | None = None
    #: The trace context of the event that caused it (W3C ``traceparent``): the send, later
    #: and maybe elsewhere, belongs to that trace.
    trace: dict[str, str] | None = None
    state: State = "queued"
    attempts: int = 0
    attempt_limit: int = 5
    last_error: str | None = None
    permanent: bool = False
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: The stored version this record was read at (0: not stored yet, or stored before
    #: versions existed); the store saves a change only if nobody saved since.
    version: int = 0

    @property
    def domain(self) -> str:
        return recipient_domain(self.recipient)


def is_due(d: Delivery, now: datetime) -> bool:
    """Queued, a retry whose time has come, or a send whose lease ended without a result."""
    return d.state in ACTIVE and d.next_attempt_at <= now


def start_attempt(d: Delivery, now: datetime, lease: timedelta) -> Delivery:
    """The claim holder begins an attempt; ``next_attempt_at`` becomes the lease's end."""
    return replace(
        d, state="sending", attempts=d.attempts + 1, next_attempt_at=now + lease, updated_at=now
    )


def succeed(d: Delivery, now: datetime) -> Delivery:
    return replace(
        d,
        state="sent",
        sent_at=now,
        updated_at=now,
        last_error=None,
        history=(*d.history, {"attempt": d.attempts, "at": now, "result": "sent"}),
    )


def backoff(attempt: int, base_s: float, max_s: float) -> timedelta:
    """Exponential: base, 2*base, 4*base ... capped."""
    return timedelta(seconds=min(base_s * 2 ** max(attempt - 1, 0), max_s))


def fail(
    d: Delivery,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    backoff_base_s: float,
    backoff_max_s: float,
) -> Delivery:
    """A failed attempt: retry later, or give up when permanent or out of attempts."""
    error = redact(error)
    give_up = permanent or d.attempts >= d.attempt_limit
    state: State = "abandoned" if give_up else "retrying"
    next_at = now if give_up else now + backoff(d.attempts, backoff_base_s, backoff_max_s)
    return replace(
        d,
        state=state,
        next_attempt_at=next_at,
        last_error=error,
        permanent=permanent,
        updated_at=now,
        history=(*d.history, {"attempt": d.attempts, "at": now, "result": state, "error": error}),
    )


def requeue(d: Delivery, now: datetime, max_attempts: int) -> Delivery:
    """An operator's retry: back to the queue with a fresh budget of attempts."""
    if d.state not in RETRYABLE_BY_OPERATOR:
        raise NotRetryable(f"a delivery in state {d.state!r} cannot be retried")
    return replace(
        d,
        state="queued",
        next_attempt_at=now,
        attempt_limit=d.attempts + max_attempts,
        permanent=False,
        updated_at=now,
        history=(*d.history, {"attempt": d.attempts, "at": now, "result": "requeued"}),
    )
