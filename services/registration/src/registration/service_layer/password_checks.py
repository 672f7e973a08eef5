"""Every check of a password: logins and the changes that ask for the current password.

Failures count per (user, client) and per user (``domain/throttling.py`` says why). A client
is a device the owner signed in from before (its cookie) or else an address (an IPv6 client's
/64), so a stranger's guesses make only the stranger wait, and never lock the owner's own
devices. One check per user and client runs at a time, so parallel guesses get no more checks
than sequential ones. A username nobody has goes through the same steps under a keyed stand-in
subject: its answers (401, then 429 with the same wait, then the same lock) and its work are a
real account's, so neither tells who is registered.
"""

from __future__ import annotations

import logging
from datetime import datetime

from secop_runtime.clients import rate_limit_key
from secop_runtime.errors import Throttled

from registration.adapters.guards import LoginBusy
from registration.domain import devices, throttling
from registration.domain.user import User
from registration.service_layer.context import Client, Context
from registration.service_layer.recovery import send_unlock_link

log = logging.getLogger(__name__)
BUSY = "another login to this account is in progress: try again"
LOCKED = (
    "account locked after too many failed logins: follow the link emailed to its owner, "
    "or reset the password"
)
WAIT = "too many failed logins: wait before trying again"


class Gated(Throttled):
    """Too many consecutive failures: wait, or reset the password if locked."""


def client_of(s: Context, user: User | None, client: Client, now: datetime) -> tuple[str, bool]:
    """The guards' name for this client, and whether it is a device this user signed in from
    (since their password last changed)."""
    if user is not None:
        device = devices.recognise(
            s.device_key,
            client.device,
            user.id,
            now,
            s.settings.device_cookie_ttl_s,
            not_before=user.sessions_revoked_before,
        )
        if device:
            return f"device:{device}", True
    return f"address:{rate_limit_key(client.ip) or 'none'}", False


async def _check(
    s: Context,
    subject: str,
    password_hash: str | None,
    password: str,
    client: tuple[str, bool],
    now: datetime,
) -> tuple[bool, int, int]:
    """Under the (subject, client) lease: the gate, the verification, the count. Returns
    (right, the client's failures, the subject's failures) after this check."""
    name, known_device = client
    try:
        failures = await s.guards.begin(subject, name, now, throttling.LOGIN_LEASE_S)
    except LoginBusy:
        log.info("password check refused: another is in progress from this client")
        raise Throttled(BUSY, 1) from None
    counted = False
    try:
        gate = throttling.login_gate(failures, known_device, now)
        if not gate.open:
            raise Gated(LOCKED if gate.locked else WAIT, gate.retry_after_s)
        if await s.hasher.verify(password_hash, password):
            await s.guards.succeeded(subject, name, run_across_clients=failures.user > 0)
            counted = True
            return True, 0, 0
        forgotten = throttling.client_failures(failures, now) == 0 and failures.client > 0
        client_after, user_after = await s.guards.failed(subject, name, now, restart=forgotten)
        counted = True
        return False, client_after, user_after
    finally:
        if not counted:
            await s.guards.release(subject, name, had_failures=failures.client > 0)


async def check_password(
    s: Context,
    user: User,
    password: str,
    client: Client,
    now: datetime,
    failure_kind: str,
) -> bool:
    """Check ``user``'s password. A failure goes into the access history as ``failure_kind``
    (and ``locked`` when it makes the client wait or locks the account, whose owner then gets
    the emailed link). Raises :class:`Throttled` while another check from this client holds
    the lease, :class:`Gated` when the failures so far say wait or locked."""
    user_id = user.id
    who = client_of(s, user, client, now)
    right, client_after, user_after = await _check(
        s, user_id, user.password_hash, password, who, now
    )
    if right:
        return True
    await s.record(user_id, failure_kind, client, now)
    if throttling.starts_wait(client_after) or throttling.starts_lock(user_after):
        await s.record(user_id, "locked", client, now)
    if throttling.starts_lock(user_after) and user.confirmed:
        # Only to a confirmed address: a pending sign-up's may be a stranger's.
        await send_unlock_link(s, user, now)
    return False


async def check_unknown(
    s: Context, key: str | None, password: str, client: Client, now: datetime
) -> None:
    """For a username nobody has: the same gate, verification and counting as a real user's
    wrong password, under a keyed stand-in (what was typed is never stored)."""
    if key is None:  # not a username at all: nothing to hide
        await s.hasher.verify(None, password)
        return
    subject = devices.subject_of_unknown(s.device_key, key)
    await _check(s, subject, None, password, client_of(s, None, client, now), now)
    # A real user's failure also goes into their access history: one write here too.
    await s.guards.noted(subject, now)
