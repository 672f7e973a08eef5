"""The sender: a polling worker that starts attempts (``sending.py``) for due deliveries.

Runs in every instance; the claim in ``sending.claim`` keeps two from sending one email. New
deliveries recorded by this process are attempted at once (``wake``); the scan for due ones
(retries, other instances' records, a restart) runs once per poll interval, because on FerretDB
every query but one by ``_id`` reads the whole collection. Up to ``max_concurrent_sends``
attempts run at a time, each on its own task, so a slow relay never holds up the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from secop_runtime.worker import PollingWorker

from notification.adapters.smtp import SmtpUnavailable
from notification.domain.delivery import Delivery, is_due
from notification.service_layer.sending import Outbound, attempt

log = logging.getLogger(__name__)


class Sender:
    def __init__(self, out: Outbound) -> None:
        self._out, self._s = out, out.settings
        self._slots = asyncio.Semaphore(self._s.max_concurrent_sends)
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._fresh: dict[str, Delivery] = {}
        self._next_scan = 0.0
        self._outage_delay = 0.0
        self._paused_until = 0.0
        self._worker = PollingWorker("email-sender", self._step, self._s.sender_poll_interval_s)

    # -- lifecycle ------------------------------------------------------------------------
    def wake(self, created: Iterable[Delivery] = ()) -> None:
        """New deliveries were recorded (or one requeued): attempt them now. They need no
        read: the claim is conditional on the version they were stored at."""
        self._fresh.update((d.id, d) for d in created)
        self._worker.wake()

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        """Stop picking; let sends in flight finish (bounded), so none is cut mid-exchange."""
        await self._worker.stop()
        await self.settle(timeout=self._s.smtp_timeout_s + 5)
        await self._out.pool.close()

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for the attempts in flight (cancelling those still running at ``timeout``)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _step(self) -> bool:
        return await self.pass_once() > 0

    # -- picking --------------------------------------------------------------------------
    async def pass_once(self) -> int:
        """Start attempts for due deliveries, up to the free slots; returns how many started."""
        free = self._s.max_concurrent_sends - len(self._inflight)
        if free <= 0 or self._paused_until > self._time():
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
        now = self._out.clock()
        fresh = [i for i in self._fresh if i not in self._inflight][:free]
        found = [d for d in (self._fresh.pop(i) for i in fresh) if is_due(d, now)]
        if self._time() >= self._next_scan:
            self._next_scan = self._time() + self._s.sender_poll_interval_s
            known = {d.id for d in found}
            due = await self._out.store.due(now, limit=free + len(self._inflight))
            found += [d for d in due if d.id not in known]
        return found

    def _done(self, task: asyncio.Task[None], delivery_id: str) -> None:
        self._tasks.discard(task)
        self._inflight.discard(delivery_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        self._worker.wake()  # a slot is free

    # -- one delivery ---------------------------------------------------------------------
    async def _deliver(self, d: Delivery) -> None:
        async with self._slots:
            try:
                conn = await self._out.pool.acquire()
            except SmtpUnavailable as exc:
                self._note_outage(str(exc))
                return
            self._outage_delay = 0.0
            try:
                await attempt(self._out, d, conn)
            finally:
                await self._out.pool.release(conn)

    def _note_outage(self, reason: str) -> None:
        """No attempt is spent while the relay is unreachable: every send pauses instead,
        and the worker is woken when the pause ends."""
        s = self._s
        self._outage_delay = min(max(self._outage_delay * 2, 0.5), s.smtp_outage_backoff_max_s)
        self._paused_until = self._time() + self._outage_delay
        asyncio.get_running_loop().call_later(self._outage_delay, self._worker.wake)
        log.warning(
            "SMTP relay unavailable; mail waits",
            extra={"error": reason, "retry_in_s": self._outage_delay},
        )

    @staticmethod
    def _time() -> float:
        return asyncio.get_running_loop().time()
