"""Throttling arithmetic: login lock-outs, per-IP windows, and how often an email may go out.

Pure functions over counters and timestamps; the state itself lives in the database so it
survives restarts and is shared by every instance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FAILURES_BEFORE_WAIT = 5
FAILURES_BEFORE_LOCK = 100
FIRST_WAIT_S = 60
MAX_WAIT_S = 15 * 60
#: What Retry-After says for an account locked until its password is reset.
LOCKED_RETRY_AFTER_S = 3600
#: How long one login may hold its user's lease before another may take it (a crashed
#: process's lease ends then; a live check takes well under a second).
LOGIN_LEASE_S = 30


def wait_after(failures: int) -> int:
    """Seconds to wait after ``failures`` consecutive failed logins (0: none; doubles, capped)."""
    if failures < FAILURES_BEFORE_WAIT:
        return 0
    doublings = failures - FAILURES_BEFORE_WAIT
    if doublings >= 10:  # far past the cap; avoids huge powers
        return MAX_WAIT_S
    return min(FIRST_WAIT_S * 2**doublings, MAX_WAIT_S)


def is_locked(failures: int) -> bool:
    """Locked until a password reset."""
    return failures >= FAILURES_BEFORE_LOCK


@dataclass(frozen=True)
class LoginGate:
    open: bool
    locked: bool = False
    retry_after_s: int = 0


def login_gate(failures: int, last_failure_at: datetime | None, now: datetime) -> LoginGate:
    """May a login be attempted now, given the account's consecutive failures?"""
    if is_locked(failures):
        return LoginGate(open=False, locked=True, retry_after_s=LOCKED_RETRY_AFTER_S)
    wait = wait_after(failures)
    if wait == 0 or last_failure_at is None:
        return LoginGate(open=True)
    remaining = (last_failure_at + timedelta(seconds=wait) - now).total_seconds()
    if remaining <= 0:
        return LoginGate(open=True)
    return LoginGate(open=False, retry_after_s=math.ceil(remaining))


def starts_lock(failures_after: int) -> bool:
    """This failure (the ``failures_after``-th) starts a wait or the lock: worth recording."""
    return failures_after == FAILURES_BEFORE_LOCK or (
        failures_after >= FAILURES_BEFORE_WAIT and failures_after < FAILURES_BEFORE_LOCK
    )


def window_start(now: datetime, window_s: int) -> int:
    """The fixed window (epoch seconds) ``now`` falls in."""
    return int(now.timestamp()) // window_s * window_s


def window_retry_after(now: datetime, window_s: int) -> int:
    return max(1, window_start(now, window_s) + window_s - int(now.timestamp()))


def may_send(
    sent_at: Sequence[datetime], now: datetime, *, min_interval_s: int, per_hour: int
) -> bool:
    """At most one email per ``min_interval_s`` and ``per_hour`` per rolling hour."""
    recent = [t for t in sent_at if now - t < timedelta(hours=1)]
    if len(recent) >= per_hour:
        return False
    return not any(now - t < timedelta(seconds=min_interval_s) for t in recent)
