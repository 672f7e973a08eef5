"""Throttling arithmetic: login lock-outs, per-IP windows, and how often an email may go out.

Pure functions over counters and timestamps; the state itself lives in the database so it
survives restarts and is shared by every instance.

Failed password checks count twice (OWASP's guidance on blocking brute force, NIST SP
800-63B-4 section 3.2.2): per (user, client), where a client is a recognised device or else an
address, so a stranger's guesses slow only the stranger; and per user across clients, where a
hundred consecutive failures lock the account for every client that is not a device the owner
signed in from before, until the emailed link sets a new password.
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
#: A client's failures are forgotten a day after its last one (the user's are not).
CLIENT_MEMORY_S = 24 * 3600
#: A user's run of failures short of the lock is forgotten a month after its last one.
USER_MEMORY_S = 30 * 24 * 3600
#: What Retry-After says for an account locked until its password is reset.
LOCKED_RETRY_AFTER_S = 3600
#: How long one check may hold its (user, client) lease before another may take it (a crashed
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


def is_locked(user_failures: int, known_device: bool) -> bool:
    """Locked until a password reset, except on a device the owner signed in from before."""
    return user_failures >= FAILURES_BEFORE_LOCK and not known_device


@dataclass(frozen=True)
class Failures:
    """What the guards hold when a check starts."""

    client: int = 0
    client_last_at: datetime | None = None
    user: int = 0


@dataclass(frozen=True)
class LoginGate:
    open: bool
    locked: bool = False
    retry_after_s: int = 0


def client_failures(failures: Failures, now: datetime) -> int:
    """The client's consecutive failures, forgotten a day after the last one."""
    last = failures.client_last_at
    if last is None or (now - last).total_seconds() >= CLIENT_MEMORY_S:
        return 0
    return failures.client


def login_gate(failures: Failures, known_device: bool, now: datetime) -> LoginGate:
    """May this client check the user's password now?"""
    if is_locked(failures.user, known_device):
        return LoginGate(open=False, locked=True, retry_after_s=LOCKED_RETRY_AFTER_S)
    wait = wait_after(client_failures(failures, now))
    if wait == 0 or failures.client_last_at is None:
        return LoginGate(open=True)
    remaining = (failures.client_last_at + timedelta(seconds=wait) - now).total_seconds()
    if remaining <= 0:
        return LoginGate(open=True)
    return LoginGate(open=False, retry_after_s=math.ceil(remaining))


def starts_wait(client_failures_after: int) -> bool:
    """This failure makes the client wait: worth recording in the access history."""
    return client_failures_after >= FAILURES_BEFORE_WAIT


def starts_lock(user_failures_after: int) -> bool:
    """This failure (the hundredth in a row) locks the account: the owner gets the link."""
    return user_failures_after == FAILURES_BEFORE_LOCK


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
