"""A background loop that drains a queue: woken at once when this process adds work, and
polling now and then for work other instances (or a crash before a restart) left behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
#: After a failed step the worker pauses this long (at most its poll interval) before the next.
FAILURE_PAUSE_S = 1.0


class PollingWorker:
    """Runs ``step`` while it reports work done; then sleeps until :meth:`wake` or
    ``poll_interval_s``. A failing step is logged and retried after the interval."""

    def __init__(
        self, name: str, step: Callable[[], Awaitable[bool]], poll_interval_s: float = 1.0
    ) -> None:
        self.name, self._step, self._interval = name, step, poll_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self._step():
                    pass
            except Exception:
                log.warning("%s: a step failed; retrying", self.name, exc_info=True)
                # Not at once, even when woken: during an outage every write wakes us.
                await asyncio.sleep(min(self._interval, FAILURE_PAUSE_S))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
