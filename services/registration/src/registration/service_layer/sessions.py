"""Logging in and out, and recognising the signed-in user on later requests."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from secop_contracts.registration import (
    SignInFailedPayload,
    UserSignedInPayload,
    UserSignedOutPayload,
)
from secop_runtime.auth import Principal, TokenError

from registration.domain import devices, identity
from registration.domain.user import User
from registration.service_layer.context import Client, Context
from registration.service_layer.errors import BadCredentials, NotConfirmed, SessionEnded
from registration.service_layer.password_checks import check_password, check_unknown, client_of

FailReason = Literal["bad_credentials", "not_confirmed"]


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105
    #: A new device cookie for a client this user's account did not recognise (else None).
    device_cookie: str | None = None


async def _failed(
    s: Context, subject: str, reason: FailReason, client: Client, at: datetime
) -> None:
    failed = SignInFailedPayload(subject=subject, reason=reason, ip=client.ip, failed_at=at)
    await s.publish_facts(*s.events([failed]))


async def sign_in(s: Context, username: str, password: str, client: Client) -> AccessToken:
    now = s.now()
    # A throttled attempt emits nothing: a flood of refusals must not become a flood of events.
    await s.check_ip("login", client, now)
    try:
        key: str | None = identity.normalise_username(username)
    except ValueError:
        key = None
    user = await s.users.find_one(username=key) if key else None
    if user is None:
        await check_unknown(s, key, password, client, now)
        await _failed(s, "unknown", "bad_credentials", client, now)
        raise BadCredentials
    if not await _password_checked(s, user, password, client, now):
        raise BadCredentials
    if not user.confirmed:
        await _failed(s, user.id, "not_confirmed", client, now)
        raise NotConfirmed
    return await _open_session(s, user, password, client)


async def _password_checked(
    s: Context, user: User, password: str, client: Client, now: datetime
) -> bool:
    """The shared password check, reported as a login (access history and SignInFailed)."""
    right = await check_password(s, user, password, client, now, "login_failed")  # Gated: 429
    if not right:
        await _failed(s, user.id, "bad_credentials", client, now)
    return right


async def _open_session(s: Context, user: User, password: str, client: Client) -> AccessToken:
    user_id, verified = user.id, user.password_hash
    rehashed = None
    if verified is not None and s.hasher.needs_rehash(verified):
        rehashed = await s.hasher.hash(password)
    if rehashed is not None or user.first_login_at is None:
        now = s.now()

        def sign_in(u: User) -> list[Any]:
            # The password was checked against ``verified``: if a reset replaced it meanwhile,
            # this login is refused, and its rehash never brings the old password back.
            if u.password_hash != verified:
                raise BadCredentials()
            return u.signed_in(now, rehashed)

        user = await s.users.change(user_id, sign_in)  # signed with the roles as saved
    await _after_revocation(user.sessions_revoked_before, s.now())
    now = s.now()
    ttl = s.settings.access_token_ttl_s
    sid = uuid.uuid4().hex
    token, expires = s.signer.sign(
        user_id=uuid.UUID(user_id),
        username=user.username,
        roles=user.roles,
        session_id=sid,
        ttl_s=ttl,
        now=now,
    )
    signed_in = UserSignedInPayload(
        user_id=user_id,
        session_id=sid,
        ip=client.ip,
        user_agent=client.user_agent,
        signed_in_at=now,
    )
    # The session is the login's record in the access history: one write for both.
    await s.sessions.open(
        sid, user_id, now, expires, client.ip, client.user_agent, *s.events([signed_in])
    )
    _, known = client_of(s, user, client, now)
    return AccessToken(
        token, ttl, device_cookie=None if known else devices.issue(s.device_key, user_id, now)
    )


async def _after_revocation(revoked_before: datetime | None, now: datetime) -> None:
    """Other services refuse tokens with ``iat <= revoked_before`` and ``iat`` has whole
    seconds: a login in the very second of a password reset waits for the next second."""
    if revoked_before is None:
        return
    wait = math.floor(revoked_before.timestamp()) + 1 - now.timestamp()
    if wait > 0:
        await asyncio.sleep(wait)


async def authenticate(s: Context, token: str) -> tuple[Principal, User]:
    """The principal and user behind a bearer token whose session is still live."""
    try:
        principal = s.verifier.verify(token)
    except TokenError as exc:
        raise SessionEnded(str(exc)) from exc
    session = await s.sessions.get(principal.session_id)
    user = await s.users.get(str(principal.user_id))
    if (
        session is None
        or session.get("ended_at") is not None
        or session["user_id"] != str(principal.user_id)
        or user is None
    ):
        raise SessionEnded
    revoked_before = user.sessions_revoked_before
    if revoked_before is not None and session["issued_at"] <= revoked_before:
        raise SessionEnded
    return principal, user


async def sign_out(s: Context, principal: Principal, client: Client) -> None:
    now = s.now()
    signed_out = UserSignedOutPayload(
        user_id=principal.user_id,
        session_id=principal.session_id,
        token_expires_at=principal.expires_at,
        signed_out_at=now,
    )
    if await s.sessions.end(principal.session_id, now, *s.events([signed_out])):
        await s.record(str(principal.user_id), "logout", client, now)
