"""argon2id off the event loop, in a bounded pool: a hash never stalls other requests.

Memory in use is ``memory_cost`` times the hashes running at once, so the pool size bounds it.
The queue in front of the pool is bounded too: past ``queue_limit`` jobs (running or waiting)
new work is refused at once (the caller answers 503), and sign-ups, which anyone may send and
which cost two hashes, may hold at most ``signup_limit`` places, so a flood of them cannot
starve logins.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from prometheus_client import Counter
from secop_runtime.errors import Unavailable

from registration.config import Settings

#: What a refused caller is told to wait before trying again.
BUSY_RETRY_AFTER_S = 2
#: Measured in the hashing thread itself, so what the rest of the service costs can be told
#: apart from argon2's deliberate cost (``benchmarks/_cpu.py`` subtracts it).
HASH_CPU = Counter(
    "secop_password_hash_cpu_seconds_total",
    "CPU seconds spent in argon2id, by operation (hash, verify)",
    ["operation"],
)


def _timed(operation: str, fn: Callable[..., object], *args: object) -> object:
    start = time.thread_time()
    try:
        return fn(*args)
    finally:
        HASH_CPU.labels(operation=operation).inc(time.thread_time() - start)


class HashQueueFull(Unavailable):
    """No room for more hashing now: 503 with Retry-After."""

    def __init__(self) -> None:
        super().__init__("the service is busy: try again in a moment", BUSY_RETRY_AFTER_S)


class Hasher:
    @classmethod
    def from_settings(cls, settings: Settings) -> Hasher:
        return cls(
            settings.argon2_time_cost,
            settings.argon2_memory_kib,
            settings.argon2_parallelism,
            settings.hash_workers,
            queue_limit=settings.hash_queue_limit,
            signup_limit=settings.signup_hash_limit,
        )

    def __init__(
        self,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        workers: int,
        *,
        queue_limit: int = 1_000_000,
        signup_limit: int = 1_000_000,
    ) -> None:
        self._ph = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._queue_limit, self._signup_limit = queue_limit, signup_limit
        self._jobs = 0  # running or waiting for a thread
        self._signups = 0
        # Verifying against this makes an unknown username cost what a wrong password costs.
        self._dummy = self._ph.hash("not a password: equalises login timing")

    @contextlib.asynccontextmanager
    async def signup(self) -> AsyncIterator[None]:
        """One sign-up's place in the queue; :class:`HashQueueFull` if there is none."""
        if self._signups >= self._signup_limit:
            raise HashQueueFull
        self._signups += 1
        try:
            yield
        finally:
            self._signups -= 1

    async def _run(self, operation: str, fn: Callable[..., object], *args: object) -> object:
        if self._jobs >= self._queue_limit:
            raise HashQueueFull
        self._jobs += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, _timed, operation, fn, *args)
        finally:
            self._jobs -= 1

    async def hash(self, secret: str) -> str:
        return str(await self._run("hash", self._ph.hash, secret))

    async def verify(self, stored: str | None, secret: str) -> bool:
        """True when ``secret`` matches; with no stored hash, spends the same time and fails."""
        return bool(await self._run("verify", self._verify, stored, secret))

    def _verify(self, stored: str | None, secret: str) -> bool:
        try:
            return self._ph.verify(stored or self._dummy, secret) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
