"""Every check of a user's password: logins and the changes that ask for the current password.

They share one count of consecutive failures, one gate and one lease per user, so a stolen
session cannot guess the password that the login throttle protects, and parallel guesses get
no more checks than sequential ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registration.adapters.guards import LoginBusy
from registration.domain import throttling
from registration.service_layer.context import Services
from registration.service_layer.errors import Throttled

log = logging.getLogger(__name__)
BUSY = "another login to this account is in progress: try again"


class Gated(Throttled):
    """Too many consecutive failures: wait, or reset the password if locked."""


@dataclass(frozen=True)
class Checked:
    right: bool
    #: Consecutive failures after this check (0 when right).
    failures: int = 0


async def check_password(
    s: Services, user: dict[str, Any], password: str, now: datetime
) -> Checked:
    """Verify under the user's lease: the failures read at the gate are all there are until
    this check is counted. Raises :class:`Throttled` while another check holds the lease,
    :class:`Gated` when the failures so far say wait."""
    user_id = user["_id"]
    try:
        failures, last_failure = await s.guards.begin(user_id, now, throttling.LOGIN_LEASE_S)
    except LoginBusy:
        log.info("password check refused: another is in progress", extra={"user_id": user_id})
        raise Throttled(1, BUSY) from None
    counted = False
    try:
        gate = throttling.login_gate(failures, last_failure, now)
        if not gate.open:
            message = (
                "account locked after too many failed logins: reset your password"
                if gate.locked
                else "too many failed logins: wait before trying again"
            )
            raise Gated(gate.retry_after_s, message)
        if await s.hasher.verify(user.get("password_hash"), password):
            await s.guards.clear(user_id)
            counted = True
            return Checked(right=True)
        failures = await s.guards.failed(user_id, now)
        counted = True
        return Checked(right=False, failures=failures)
    finally:
        if not counted:
            await s.guards.release(user_id)


async def check_unknown(s: Services, key: str | None, password: str, now: datetime) -> None:
    """For a username nobody has, the work of a wrong password (a lease, a full argon2
    verification, its end), so that the time taken does not tell which usernames exist."""
    if key is None:  # not a username at all: nothing to hide
        await s.hasher.verify(None, password)
        return
    ghost = f"unknown:{key}"
    try:
        await s.guards.begin(ghost, now, throttling.LOGIN_LEASE_S)
    except LoginBusy:
        raise Throttled(1, BUSY) from None
    try:
        await s.hasher.verify(None, password)
    finally:
        await s.guards.clear(ghost)
