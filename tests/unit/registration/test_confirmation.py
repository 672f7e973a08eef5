"""Confirmation links on fakes: single use, only the newest, and expiry."""

from __future__ import annotations

import pytest
from registration.domain.tokens import LinkExpired, LinkRefused
from registration.service_layer import confirmation, recovery

from tests.unit.registration.conftest import Registration
from tests.unit.registration.steps import CLIENT, link_of, sign_up

pytestmark = pytest.mark.unit


async def test_a_link_confirms_once_and_then_answers_already_used(
    registration: Registration,
) -> None:
    user_id = await sign_up(registration)
    token = link_of(registration, user_id)
    await confirmation.confirm(registration.ctx, token)
    with pytest.raises(LinkRefused) as used:
        await confirmation.confirm(registration.ctx, token)
    assert used.value.status == 400 and used.value.body()["reason"] == "used"
    with pytest.raises(LinkRefused) as unknown:
        await confirmation.confirm(registration.ctx, "nope" * 10)
    assert unknown.value.body()["reason"] == "unknown"


async def test_an_expired_link_answers_gone_and_confirms_nothing(
    registration: Registration,
) -> None:
    user_id = await sign_up(registration)
    registration.clock.advance(seconds=registration.ctx.settings.confirmation_ttl_s)
    with pytest.raises(LinkExpired) as gone:
        await confirmation.confirm(registration.ctx, link_of(registration, user_id))
    assert gone.value.status == 410
    user = await registration.ctx.users.get(user_id)
    assert user is not None and not user.confirmed


async def test_a_resent_link_replaces_the_first_and_strangers_get_nothing(
    registration: Registration,
) -> None:
    user_id = await sign_up(registration)
    first = link_of(registration, user_id)
    for who in ("ana.0", "ana.0@example.com", "nobody"):
        await recovery.ask(registration.ctx, "resend", {"value": who}, CLIENT)
    while await recovery.work_one(registration.ctx):
        pass
    [resent] = registration.events("ConfirmationRequested")  # one a minute
    assert resent.payload.reason == "resend"
    newest = link_of(registration, user_id, "ConfirmationRequested")
    with pytest.raises(LinkRefused):
        await confirmation.confirm(registration.ctx, first)
    assert await confirmation.confirm(registration.ctx, newest) == "active"
    assert registration.ctx.requests.waiting == {}
