"""Username and password recovery on fakes: who is told what, and what a reset ends."""

from __future__ import annotations

import uuid

import pytest
from registration.domain.tokens import LinkRefused
from registration.service_layer import recovery, sessions
from registration.service_layer.errors import SessionEnded
from secop_runtime.errors import Invalid

from tests.unit.registration.conftest import Registration
from tests.unit.registration.steps import (
    CLIENT,
    NEW_PASSWORD,
    PASSWORD,
    confirmed_user,
    form,
    sign_up,
)

pytestmark = pytest.mark.unit


async def work(registration: Registration) -> None:
    while await recovery.work_one(registration.ctx):
        pass


async def test_username_recovery_discloses_by_what_was_asked_and_only_to_confirmed_users(
    registration: Registration,
) -> None:
    owner = await confirmed_user(registration, 0)
    # A squatter's pending sign-up with the owner's phone and document never matches.
    await sign_up(registration, 1, document_number=form(0).document_number)
    asks = {"document_number": form(0).document_number, "mobile_phone": "300 123 4567"}
    for asked_by, value in asks.items():
        await recovery.ask(
            registration.ctx, "username", {"asked_by": asked_by, "value": value}, CLIENT
        )
    await work(registration)
    told = registration.events("UsernameRecoveryRequested")
    assert {str(e.payload.user_id) for e in told} == {owner}
    by = {e.payload.asked_by: e.payload for e in told}
    assert by["document_number"].disclose == "username"
    assert by["document_number"].username == "ana.0"
    assert by["mobile_phone"].disclose == "email_hint" and by["mobile_phone"].username is None


async def test_a_reset_link_sets_the_password_once_and_ends_every_session(
    registration: Registration,
) -> None:
    ctx = registration.ctx
    user_id = await confirmed_user(registration)
    await ctx.sessions.open("s1", user_id, ctx.now(), ctx.now(), None, None)
    for _ in range(2):
        await recovery.ask(ctx, "reset", {"value": "ana.0"}, CLIENT)
        await work(registration)
        registration.clock.advance(seconds=61)  # one email a minute
    older, newest = (
        registration.opened(e, "sealed_reset_token")
        for e in registration.events("PasswordResetRequested")
    )
    with pytest.raises(LinkRefused):
        await recovery.reset_password(ctx, older, NEW_PASSWORD, CLIENT)
    with pytest.raises(Invalid):  # a weak choice does not burn the link
        await recovery.reset_password(ctx, newest, "abc", CLIENT)
    await recovery.reset_password(ctx, newest, NEW_PASSWORD, CLIENT)
    with pytest.raises(LinkRefused) as used:
        await recovery.reset_password(ctx, newest, NEW_PASSWORD, CLIENT)
    assert used.value.body()["reason"] == "used"

    user = await ctx.users.get(user_id)
    assert user is not None and user.password_hash == f"fake${NEW_PASSWORD}"
    assert user.reset_hash is None and user.sessions_revoked_before == ctx.now()
    # The session opened before the reset is refused: the revocation time ends it.
    token, _ = ctx.signer.sign(
        user_id=uuid.UUID(user_id), username="ana.0", roles=(), session_id="s1", ttl_s=900
    )
    with pytest.raises(SessionEnded):
        await sessions.authenticate(ctx, token)
    [changed] = registration.events("PasswordChanged")
    [revoked] = registration.events("UserSessionsRevoked")
    assert changed.payload.via == "reset" and revoked.payload.reason == "password_reset"
    assert PASSWORD not in str(registration.ctx.users.events)


async def test_a_desk_resend_tells_the_username_to_the_registered_address(
    registration: Registration,
) -> None:
    from uuid import uuid4

    from secop_contracts.support import CredentialsResendRequested

    user_id = await confirmed_user(registration)
    event = CredentialsResendRequested(
        producer="support",
        payload={
            "case_number": "CCE-1",
            "email": "ANA.0@example.com",
            "agent_id": uuid4(),
            "requested_at": registration.ctx.now(),
        },
    )
    await recovery.resend_credentials(registration.ctx, event)
    [told] = registration.events("UsernameRecoveryRequested")
    assert str(told.payload.user_id) == user_id and told.payload.case_number == "CCE-1"
