"""The sender: picks due deliveries, claims each attempt, renders, sends, records the outcome.

Runs in every instance. Exactly-once per email rests on the claim (a unique insert, see
``adapters/store.py``) plus a fresh read after winning it: whoever holds generation ``n`` of a
delivery's claim is the only one who may send it, and it re-reads the record first, so a stale
view of a delivery already sent can never send it again.

The one window left: the relay accepted the message and the process died before recording
``sent``. Its claim's lease then ends and another instance sends again (at least once, not
exactly once, in that window; the Message-ID is the same on both, so receivers may dedupe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from secop_contracts import Event
from secop_contracts.notification import EmailFailed, EmailSent
from secop_runtime.context import working_on
from secop_runtime.mongo import is_transient_db_error

from notification.adapters.smtp import SendFailed, SmtpPool, SmtpUnavailable
from notification.adapters.store import DeliveryStore, SendClaims
from notification.config import Settings
from notification.domain.delivery import Delivery, fail, is_due, start_attempt, succeed
from notification.service_layer.rendering import Renderer, RenderError, build_message

log = logging.getLogger(__name__)

EMAILS = Counter(
    "secop_emails_total", "Email attempts by template and outcome", ["template", "outcome"]
)

MakeEvent = Callable[[type[Any], Any], Event]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Sender:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        claims: SendClaims,
        pool: SmtpPool,
        renderer: Renderer,
        settings: Settings,
        make_event: MakeEvent,
    ) -> None:
        self._store, self._claims, self._pool, self._renderer = store, claims, pool, renderer
        self._s = settings
        self._lease = timedelta(seconds=settings.send_lease_s)
        self._make_event = make_event
        self._slots = asyncio.Semaphore(settings.max_concurrent_sends)
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._outage_delay = 0.0
        self._paused_until = 0.0
        self._fresh: dict[str, Delivery] = {}
        self._next_scan = 0.0

    # -- lifecycle ------------------------------------------------------------------------
    def kick(self, created: Iterable[Delivery] = ()) -> None:
        """New deliveries were recorded: send them now rather than at the next poll.

        They need no read here (the claim holder re-reads each before sending); the scan for
        due deliveries (retries, other instances' records, a restart) runs once per poll
        interval, because on FerretDB every query but one by ``_id`` reads the whole collection.
        """
        self._fresh.update((d.id, d) for d in created)
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="email-sender")

    async def stop(self) -> None:
        """Stop picking; let sends in flight finish (bounded), so none is cut mid-exchange."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._s.smtp_timeout_s + 5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._pool.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender pass failed; retrying")
                await asyncio.sleep(1.0)
            self._wake.clear()
            timeout = self._s.sender_poll_interval_s
            if self._paused_until > loop.time():
                timeout = self._paused_until - loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def pass_once(self) -> int:
        """Start sends for due deliveries, up to the free slots; returns how many started."""
        if self._paused_until > asyncio.get_running_loop().time():
            return 0
        free = self._s.max_concurrent_sends - len(self._inflight)
        if free <= 0:
            return 0
        started = 0
        for d in await self._candidates(free):
            if d.id in self._inflight or started >= free:
                continue
            self._inflight.add(d.id)
            task = asyncio.create_task(self._deliver(d), name=f"send-{d.id}")
            self._tasks.add(task)
            task.add_done_callback(lambda t, i=d.id: self._done(t, i))
            started += 1
        return started

    async def _candidates(self, free: int) -> list[Delivery]:
        """Fresh deliveries by id first; the due-scan only when its interval has passed."""
        now, loop_time = utcnow(), asyncio.get_running_loop().time()
        fresh = [i for i in self._fresh if i not in self._inflight][:free]
        found = [d for d in (self._fresh.pop(i) for i in fresh) if is_due(d, now)]
        if loop_time >= self._next_scan:
            self._next_scan = loop_time + self._s.sender_poll_interval_s
            known = {d.id for d in found}
            due = await self._store.due(now, limit=free + len(self._inflight))
            found += [d for d in due if d.id not in known]
        return found

    def _done(self, task: asyncio.Task[None], delivery_id: str) -> None:
        self._tasks.discard(task)
        self._inflight.discard(delivery_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        self.kick()

    # -- one delivery ---------------------------------------------------------------------
    async def _deliver(self, d: Delivery) -> None:
        async with self._slots:
            try:
                conn = await self._pool.acquire()
            except SmtpUnavailable as exc:
                self._note_outage(str(exc))
                return
            self._outage_delay = 0.0
            try:
                await self._attempt(d, conn)
            finally:
                await self._pool.release(conn)

    def _note_outage(self, reason: str) -> None:
        """No attempt is spent while the relay is unreachable: every send pauses instead."""
        self._outage_delay = min(
            max(self._outage_delay * 2, 0.5), self._s.smtp_outage_backoff_max_s
        )
        self._paused_until = asyncio.get_running_loop().time() + self._outage_delay
        log.warning(
            "SMTP relay unavailable; mail waits",
            extra={"error": reason, "retry_in_s": self._outage_delay},
        )

    async def _attempt(self, d: Delivery, conn: Any) -> None:
        claim = await self._claims.take(d.id, utcnow(), self._lease)
        if claim is None:
            return  # another instance holds it
        sent = False
        try:
            # Every change to a delivery after its creation is made under a claim: the first
            # claim ever (generation 0) finds it exactly as created, which ``d`` is. Later
            # generations re-read it, as a stale view could send an email already sent.
            fresh = d if claim.n == 0 else await self._store.get(d.id)
            now = utcnow()
            if fresh is None or not is_due(fresh, now):
                return  # someone finished it between our read and our claim
            with working_on(fresh.correlation_id):
                sent = await self._send(fresh, conn, now)
        finally:
            # A sent email is final: its claim stays held for good (one write fewer per
            # email), and nothing, an operator's retry included, may act on it again.
            if not sent:
                await self._claims.release(claim)

    async def _send(self, d: Delivery, conn: Any, now: datetime) -> bool:
        """One attempt; True once the relay accepted the message and that is recorded."""
        if d.state == "sending":
            log.warning("taking over a send whose lease ended", extra={"delivery_id": d.id})
        attempt = start_attempt(d, now, self._lease)
        try:
            message = build_message(d, self._renderer.render(d), self._s.smtp_from, now)
        except RenderError as exc:
            await self._record_failure(attempt, str(exc), permanent=True)
            return False
        await self._store.save(attempt)
        try:
            await self._pool.send(conn, message, d.recipient)
        except SendFailed as exc:
            await self._record_failure(attempt, exc.reason, permanent=exc.permanent)
            return False
        done = succeed(attempt, utcnow())
        await self._record(done, self._sent_event(done))
        EMAILS.labels(d.template, "sent").inc()
        log.info("email sent", extra={"delivery_id": d.id, "template": d.template})
        return True

    async def _record_failure(self, d: Delivery, error: str, *, permanent: bool) -> None:
        failed = fail(
            d,
            utcnow(),
            error,
            permanent=permanent,
            backoff_base_s=self._s.retry_backoff_base_s,
            backoff_max_s=self._s.retry_backoff_max_s,
        )
        await self._record(failed, self._failed_event(failed))
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

    async def _record(self, d: Delivery, event: Event) -> None:
        """The outcome must be stored, or the lease would end and the email go out again:
        a database outage is waited out (within the lease)."""
        deadline = asyncio.get_running_loop().time() + self._s.send_lease_s / 2
        delay = 0.2
        while True:
            try:
                await self._store.save(d, event)
                break
            except Exception as exc:
                if not is_transient_db_error(exc) or asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _sent_event(self, d: Delivery) -> Event:
        sent_at = d.sent_at or utcnow()
        return self._make_event(
            EmailSent,
            {
                **self._common(d),
                "sent_at": sent_at,
                "latency_ms": max(int((sent_at - d.queued_at).total_seconds() * 1000), 0),
            },
        )

    def _failed_event(self, d: Delivery) -> Event:
        return self._make_event(
            EmailFailed,
            {
                **self._common(d),
                "permanent": d.permanent,
                "abandoned": d.state == "abandoned",
                "error": d.last_error or "",
                "failed_at": d.updated_at or utcnow(),
                "next_attempt_at": d.next_attempt_at if d.state == "retrying" else None,
            },
        )

    @staticmethod
    def _common(d: Delivery) -> dict[str, Any]:
        return {
            "delivery_id": d.id,
            "template": d.template,
            "recipient_domain": d.domain,
            "source_event_id": d.source_event_id,
            "source_event_type": d.source_event_type,
            "attempts": d.attempts,
            "queued_at": d.queued_at,
        }
