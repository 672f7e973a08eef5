"""Recovering a lost username or password (seeds 000 and 001), and the desk's resend request.

Self-service answers never depend on whether a user matched: the same 202, the same body, and
the same work (a stored request; a worker does the rest), so neither the response nor its
timing tells who is registered.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from secop_contracts.support import CredentialsResendRequested
from secop_runtime.errors import Invalid

from registration.adapters.requests import MAX_TRIES
from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.tokens import Link
from registration.domain.user import AskedBy, User
from registration.domain.user_state import ACTIVE
from registration.service_layer.confirmation import resend_confirmation
from registration.service_layer.context import Client, Context
from registration.service_layer.links import checked_link, spend

log = logging.getLogger(__name__)

RequestKind = Literal["username", "reset", "resend"]


def lookup(asked_by: AskedBy, value: str) -> dict[str, Any] | None:
    """What finds confirmed users by what the person remembers; None if it cannot match.
    Unconfirmed sign-ups never match: anyone may type a stranger's document or phone into
    one, and recovery would then answer to the squatter's address."""
    try:
        if asked_by == "document_number":
            found = {"document_number": identity.normalise_document_number(value)}
        elif asked_by == "email":
            found = {"email_key": identity.email_key(value)}
        elif asked_by == "mobile_phone":
            found = {"mobile_phone": identity.normalise_phone(value)}
        else:
            found = {"username": identity.normalise_username(value)}
    except ValueError:
        return None
    return {**found, "status": ACTIVE}


async def ask(s: Context, kind: RequestKind, fields: dict[str, str], client: Client) -> None:
    """Accept a self-service request: the per-client limit, then one insert, whoever it
    concerns; the worker (:func:`work_one`) does the rest."""
    now = s.now()
    await s.check_ip("resend" if kind == "resend" else "recovery", client, now)
    await s.requests.add(kind, fields, now)
    s.wake_requests()


async def work_one(s: Context) -> bool:
    """Do the oldest waiting request; False when none waits."""
    now = s.now()
    request = await s.requests.take(s.settings.instance_id, now)
    if request is None:
        return False
    if request["tries"] > MAX_TRIES:
        log.error(
            "a self-service request kept failing: set aside in self_service_requests_dead",
            extra={"kind": request["kind"], "request_id": request["_id"]},
        )
        await s.requests.set_aside(request, now)
        return True
    if request["kind"] == "username":
        await recover_username(s, request["asked_by"], request["value"])
    elif request["kind"] == "reset":
        await request_reset(s, request["value"])
    elif request["kind"] == "resend":
        await resend_confirmation(s, request["value"])
    await s.requests.done(request["_id"])
    return True


async def recover_username(s: Context, asked_by: AskedBy, value: str) -> None:
    now = s.now()
    query = lookup(asked_by, value)
    for user in await s.users.find(limit=5, **query) if query else []:
        # Only the hourly cap: a person may ask by each of the four keys in a row.
        if await s.may_email(user.id, "username", now, min_interval_s=0):
            await _tell_username(s, user.id, asked_by, now)


async def _tell_username(
    s: Context, user_id: str, asked_by: AskedBy, now: datetime, case: str | None = None
) -> None:
    await s.users.change(user_id, lambda u: s.events(u.note_username_recovery(asked_by, now, case)))


async def request_reset(s: Context, username: str) -> None:
    now = s.now()
    query = lookup("username", username)
    user = await s.users.find_one(**query) if query else None
    if user is None or not await s.may_email(user.id, "reset", now):
        return
    await _issue_reset(s, user, s.link(now, s.settings.reset_ttl_s, user.id), "requested")


async def send_unlock_link(s: Context, user: User, now: datetime) -> None:
    """The account just locked: its owner gets a link that sets a new password and lifts the
    lock (it replaces any older reset link). Sent once per lock, not per failure."""
    await _issue_reset(s, user, s.link(now, s.settings.reset_ttl_s, user.id), "locked")


async def _issue_reset(
    s: Context, user: User, link: Link, reason: Literal["requested", "locked"]
) -> None:
    await s.users.change(user.id, lambda u: s.events(u.issue_reset(link, reason)))


async def reset_password(s: Context, token: str, new_password: str, client: Client) -> None:
    user, digest = await checked_link(s, "reset", token)
    problem = password_problem(new_password, s.policy, username=user.username, email=user.email)
    if problem:  # checked before spending the link, so a weak choice does not burn it
        raise Invalid(problem, field="new_password")
    await spend(s, digest, user.id, s.now())
    await replace_password(s, user, new_password, "reset", client)


async def replace_password(
    s: Context, user: User, new_password: str, via: Literal["reset", "profile"], client: Client
) -> None:
    """Store the new hash, end every session (the user's revocation time refuses each one
    issued before it, here and, through ``UserSessionsRevoked``, in the other services), tell
    the user and the other services."""
    password_hash = await s.hasher.hash(new_password)
    now = s.now()
    await s.users.change(user.id, lambda u: s.events(u.set_password(password_hash, via, now)))
    if via == "reset":
        await s.guards.clear(user.id)  # a reset also lifts a lock-out
    await s.record(user.id, "password_reset" if via == "reset" else "password_changed", client, now)


async def resend_credentials(s: Context, event: CredentialsResendRequested) -> None:
    """A desk agent asked to send a user's username to their registered email."""
    p = event.payload
    user = None
    if p.document_number and (query := lookup("document_number", p.document_number)):
        user = await s.users.find_one(**query)
    if user is None and p.email:
        user = await s.users.find_one(email_key=identity.email_key(p.email))
    if user is None:
        log.info("credentials resend: no matching user", extra={"case_number": p.case_number})
        return
    await _tell_username(s, user.id, "support_case", s.now(), p.case_number)
