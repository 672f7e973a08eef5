"""Recovering a lost username or password (seeds 000 and 001), and the desk's resend request.

Self-service answers never depend on whether a user matched: the same 202, the same body, and
the same work (a stored request; a worker does the rest), so neither the response nor its
timing tells who is registered.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from secop_contracts.registration import (
    PasswordChanged,
    PasswordResetRequested,
    UsernameRecoveryRequested,
    UserSessionsRevoked,
)
from secop_contracts.support import CredentialsResendRequested

from registration.adapters.requests import MAX_TRIES
from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.tokens import TokenProblem, issue
from registration.service_layer.context import Client, Services
from registration.service_layer.errors import Invalid, TokenRefused
from registration.service_layer.signup import (
    CONFIRM_FIELDS,
    PENDING,
    person,
    resend_confirmation,
    spend_link,
)

log = logging.getLogger(__name__)

AskedBy = Literal["document_number", "email", "mobile_phone", "username"]
RequestKind = Literal["username", "reset", "resend"]
RESET_FIELDS = ("reset_hash", "reset_expires_at")


def lookup(asked_by: AskedBy, value: str) -> dict[str, Any] | None:
    """The query that finds confirmed users by what the person remembers; None if it cannot
    match. Unconfirmed sign-ups never match: anyone may type a stranger's document or phone
    into one, and recovery would then answer to the squatter's address."""
    confirmed = {"status": {"$ne": PENDING}}
    try:
        if asked_by == "document_number":
            return {"document_number": identity.normalise_document_number(value), **confirmed}
        if asked_by == "email":
            return {"email_key": identity.email_key(value), **confirmed}
        if asked_by == "mobile_phone":
            return {"mobile_phone": identity.normalise_phone(value), **confirmed}
        return {"username": identity.normalise_username(value), **confirmed}
    except ValueError:
        return None


def disclosure(asked_by: str, user: dict[str, Any]) -> dict[str, Any]:
    """By document or email: the username. By phone or username: a hint of the email."""
    if asked_by in ("document_number", "email", "support_case"):
        return {"disclose": "username", "username": user["username"]}
    return {"disclose": "email_hint", "email_hint": identity.email_hint(user["email"])}


def _recovery_event(s: Services, user: dict[str, Any], asked_by: str, case: str | None) -> Any:
    return s.event(
        UsernameRecoveryRequested,
        {
            "user_id": user["_id"],
            "full_name": user["full_name"],
            "email": user["email"],
            "time_zone": user["time_zone"],
            "asked_by": asked_by,
            "case_number": case,
            **disclosure(asked_by, user),
        },
    )


async def ask(s: Services, kind: RequestKind, fields: dict[str, str], client: Client) -> None:
    """Accept a self-service request: the per-client limit, then one insert, whoever it
    concerns; the worker (:func:`work_one`) does the rest. Equal work for everyone, so the
    answer's timing says nothing about who is registered."""
    now = s.now()
    await s.check_ip("resend" if kind == "resend" else "recovery", client, now)
    await s.requests.add(kind, fields, now)
    s.wake_requests()


async def work_one(s: Services) -> bool:
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


async def recover_username(s: Services, asked_by: AskedBy, value: str) -> None:
    now = s.now()
    query = lookup(asked_by, value)
    users = await s.users.find_many(limit=5, **query) if query else []
    for user in users:
        # Only the hourly cap: a person may ask by each of the four keys in a row.
        if await s.may_email(user["_id"], "username", now, min_interval_s=0):
            event = _recovery_event(s, user, asked_by, None)
            await s.users.update(user["_id"], {"$set": {"last_username_recovery_at": now}}, event)


async def request_reset(s: Services, username: str) -> None:
    now = s.now()
    query = lookup("username", username)
    user = await s.users.find_one(**query) if query else None
    if user is None or not await s.may_email(user["_id"], "reset", now):
        return
    token = issue(now, s.settings.reset_ttl_s)
    event = s.event(
        PasswordResetRequested,
        {**person(user), "sealed_reset_token": s.seal(token.plain), "expires_at": token.expires_at},
    )
    update = {"$set": {"reset_hash": token.hash, "reset_expires_at": token.expires_at}}
    await s.users.update(user["_id"], update, event)


async def send_unlock_link(s: Services, user: dict[str, Any], now: datetime) -> None:
    """The account just locked: its owner gets a link that sets a new password and lifts the
    lock (it replaces any older reset link). Sent once per lock, not per failure."""
    token = issue(now, s.settings.reset_ttl_s)
    event = s.event(
        PasswordResetRequested,
        {
            **person(user),
            "sealed_reset_token": s.seal(token.plain),
            "expires_at": token.expires_at,
            "reason": "locked",
        },
    )
    update = {"$set": {"reset_hash": token.hash, "reset_expires_at": token.expires_at}}
    await s.users.update(user["_id"], update, event)


async def reset_password(s: Services, token: str, new_password: str, client: Client) -> None:
    user = await spend_link(s, "reset_hash", token)
    problem = password_problem(
        new_password, s.policy, username=user["username"], email=user["email"]
    )
    if problem:  # checked before spending the link, so a weak choice does not burn it
        raise Invalid("new_password", problem)
    now = s.now()
    if not await s.used_tokens.spend(user["reset_hash"], user["_id"], now):
        raise TokenRefused(TokenProblem.USED)
    await replace_password(s, user, new_password, "reset", client)


async def replace_password(
    s: Services,
    user: dict[str, Any],
    new_password: str,
    via: Literal["reset", "profile"],
    client: Client,
) -> None:
    """Store the new hash, end every session, tell the user and the other services."""
    password_hash = await s.hasher.hash(new_password)
    now = s.now()
    user_id = user["_id"]
    events = [
        s.event(PasswordChanged, {**person(user), "via": via, "changed_at": now}),
        s.event(
            UserSessionsRevoked,
            {
                "user_id": user_id,
                "revoked_before": now,
                "reason": "password_reset" if via == "reset" else "password_changed",
            },
        ),
    ]
    update: dict[str, Any] = {
        "$set": {"password_hash": password_hash, "sessions_revoked_before": now}
    }
    if via == "reset":
        update["$unset"] = dict.fromkeys(RESET_FIELDS, "")
    if user.get("confirm_kind") == "email_change":
        # A pending move of the address (perhaps by whoever held the old password) dies with
        # the password: its link stops working.
        update.setdefault("$unset", {}).update(
            dict.fromkeys((*CONFIRM_FIELDS, "pending_email"), "")
        )
    await s.users.update(user_id, update, *events)
    await s.sessions.end_all(user_id, now)
    if via == "reset":
        await s.guards.clear(user_id)  # a reset also lifts a lock-out
    await s.record(user_id, "password_reset" if via == "reset" else "password_changed", client, now)


async def resend_credentials(s: Services, event: CredentialsResendRequested) -> None:
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
    recovery = _recovery_event(s, user, "support_case", p.case_number)
    await s.users.update(user["_id"], {"$set": {"last_username_recovery_at": s.now()}}, recovery)
