"""Every check of a user's password: logins and the changes that ask for the current password.

They share one count of consecutive failures, one gate and one lease per user, so a stolen
session cannot guess the password that the login throttle protects, and parallel guesses get
no more checks than sequential ones.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from registration.adapters.guards import LoginBusy
from registration.domain import throttling
from registration.service_layer.context import Client, Services
from registration.service_layer.errors import Throttled

log = logging.getLogger(__name__)
BUSY = "another login to this account is in progress: try again"


#: Lease keys of usernames nobody has (``unknown:<typed username>``).
UNKNOWN = "unknown:"


class Gated(Throttled):
    """Too many consecutive failures: wait, or reset the password if locked."""


async def _lease(s: Services, key: str, now: datetime) -> tuple[int, datetime | None]:
    """Take ``key``'s lease: the failures so far; :class:`Throttled` while another holds it."""
    try:
        return await s.guards.begin(key, now, throttling.LOGIN_LEASE_S)
    except LoginBusy:
        # An unknown user's key holds the typed username (often a password typed in the wrong
        # box): it never reaches the logs.
        who = "unknown" if key.startswith(UNKNOWN) else key
        log.info("password check refused: another is in progress", extra={"user_id": who})
        raise Throttled(1, BUSY) from None


async def check_password(
    s: Services,
    user: dict[str, Any],
    password: str,
    client: Client,
    now: datetime,
    failure_kind: str,
) -> bool:
    """Verify under the user's lease: the failures read at the gate are all there are until
    this check is counted. A failure goes into the access history as ``failure_kind`` (and
    ``locked`` when it starts a wait or the lock). Raises :class:`Throttled` while another
    check holds the lease, :class:`Gated` when the failures so far say wait."""
    user_id = user["_id"]
    failures, last_failure = await _lease(s, user_id, now)
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
            return True
        failures = await s.guards.failed(user_id, now)
        counted = True
    finally:
        if not counted:
            await s.guards.release(user_id)
    await s.record(user_id, failure_kind, client, now)
    if throttling.starts_lock(failures):
        await s.record(user_id, "locked", client, now)
    return False


async def check_unknown(s: Services, key: str | None, password: str, now: datetime) -> None:
    """For a username nobody has, the work of a wrong password (a lease, a full argon2
    verification, its end), so that the time taken does not tell which usernames exist."""
    if key is None:  # not a username at all: nothing to hide
        await s.hasher.verify(None, password)
        return
    ghost = f"{UNKNOWN}{key}"
    await _lease(s, ghost, now)
    try:
        await s.hasher.verify(None, password)
    finally:
        await s.guards.clear(ghost)
