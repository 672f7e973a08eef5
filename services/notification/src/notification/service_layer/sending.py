"""One attempt at one delivery: claim it, render, send, record the outcome with its event.

The claim is the delivery itself. Moving it to ``sending`` is one write conditional on the
version it was read at, so of several instances (or a sender and an operator's retry) deciding
on the same version exactly one is stored; the others get ``Stale`` and leave it. A stale view
of a delivery already sent can therefore never send it again, and no re-read is needed.
``sending`` carries the claim's end in ``next_attempt_at`` (the lease): a sender that dies
mid-send leaves a delivery that falls due then and is taken over the same way.

The one window left: the relay accepted the message and the process died before recording
``sent``. The lease then ends and another instance sends again (at least once, not exactly
once, in that window; the Message-ID is the same on both, so receivers may dedupe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from prometheus_client import Counter
from secop_contracts import Event
from secop_contracts.notification import EmailFailed, EmailSent
from secop_runtime import tracing
from secop_runtime.aggregates import Stale
from secop_runtime.context import working_on
from secop_runtime.mongo import is_transient_db_error

from notification.adapters.smtp import SendFailed
from notification.adapters.store import Deliveries
from notification.config import Settings
from notification.domain import outcomes
from notification.domain.delivery import Delivery, fail, is_due, start_attempt, succeed
from notification.domain.plans import TEMPLATES
from notification.service_layer.rendering import Renderer, RenderError, build_message

log = logging.getLogger(__name__)

EMAILS = Counter(
    "secop_emails_total", "Email attempts by template and outcome", ["template", "outcome"]
)
# Abandoned emails are counted from 0 for every template, so the alert's increase() sees the
# first one (a counter born at 1 shows no increase).
for _template in TEMPLATES:
    EMAILS.labels(_template, "abandoned")

MakeEvent = Callable[[type[Any], Any], Event]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Relay(Protocol):
    """The SMTP relay as the sender uses it (``adapters/smtp.py``, ``adapters/fakes.py``)."""

    async def acquire(self) -> Any: ...
    async def send(self, conn: Any, message: EmailMessage, recipient: str) -> None: ...
    async def release(self, conn: Any) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class Outbound:
    """What an attempt needs."""

    store: Deliveries
    pool: Relay
    renderer: Renderer
    settings: Settings
    make_event: MakeEvent
    clock: Callable[[], datetime] = utcnow

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.send_lease_s)


async def claim(store: Deliveries, d: Delivery, now: datetime, lease: timedelta) -> Delivery | None:
    """``d`` moved to ``sending`` (stored), or ``None`` when it is not due or someone changed
    it since it was read (another instance claimed or finished it)."""
    if not is_due(d, now):
        return None
    try:
        return await store.save(start_attempt(d, now, lease), was=d)
    except Stale:
        return None


async def attempt(out: Outbound, d: Delivery, conn: Any) -> bool:
    """One attempt at ``d`` over ``conn``; True once the relay accepted it and that is stored."""
    taken = await claim(out.store, d, out.clock(), out.lease)
    if taken is None:
        return False
    if d.state == "sending":
        log.warning("taking over a send whose lease ended", extra={"delivery_id": d.id})
    attributes = {"email.template": taken.template, "email.attempt": taken.attempts}
    with (
        working_on(taken.correlation_id),
        tracing.span("smtp send", taken.trace, tracing.SpanKind.CLIENT, attributes),
    ):
        return await _send(out, taken, conn)


async def _send(out: Outbound, d: Delivery, conn: Any) -> bool:
    try:
        message = build_message(d, out.renderer.render(d), out.settings.smtp_from, out.clock())
    except RenderError as exc:
        await _record_failure(out, d, str(exc), permanent=True)
        return False
    try:
        await out.pool.send(conn, message, d.recipient)
    except SendFailed as exc:
        await _record_failure(out, d, exc.reason, permanent=exc.permanent)
        return False
    done = succeed(d, out.clock())
    await _record(out, done, out.make_event(EmailSent, outcomes.sent(done)), was=d)
    EMAILS.labels(d.template, "sent").inc()
    log.info("email sent", extra={"delivery_id": d.id, "template": d.template})
    return True


async def _record_failure(out: Outbound, d: Delivery, error: str, *, permanent: bool) -> None:
    s = out.settings
    failed = fail(
        d,
        out.clock(),
        error,
        permanent=permanent,
        backoff_base_s=s.retry_backoff_base_s,
        backoff_max_s=s.retry_backoff_max_s,
    )
    await _record(out, failed, out.make_event(EmailFailed, outcomes.failed(failed)), was=d)
    EMAILS.labels(d.template, failed.state).inc()
    log.warning(
        "email attempt failed",
        extra={
            "delivery_id": d.id,
            "template": d.template,
            "state": failed.state,
            "error": failed.last_error,
        },
    )


async def _record(out: Outbound, d: Delivery, event: Event, *, was: Delivery) -> None:
    """The outcome must be stored, or the lease would end and the email go out again: a
    database outage is waited out (within the lease)."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + out.settings.send_lease_s / 2, 0.2
    while True:
        try:
            await out.store.save(d, event, was=was)
            return
        except Stale:
            # The lease ended and another instance took the delivery over (or a retry after
            # a lost acknowledgement finds our own write): its outcome stands.
            log.warning("outcome not stored: the delivery moved on", extra={"delivery_id": d.id})
            return
        except Exception as exc:
            if not is_transient_db_error(exc) or loop.time() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
