"""Sign-up through the service layer on fakes: what is stored, what is told, to whom."""

from __future__ import annotations

import pytest
from registration.domain.user_state import ACTIVE, PENDING
from registration.service_layer import confirmation, signup
from registration.service_layer.errors import Taken
from secop_runtime.errors import Invalid

from tests.unit.registration.conftest import Registration
from tests.unit.registration.steps import (
    CLIENT,
    PASSWORD,
    confirmed_user,
    form,
    link_of,
    sign_up,
)

pytestmark = pytest.mark.unit


async def test_a_sign_up_is_pending_claims_its_keys_and_announces_a_sealed_link(
    registration: Registration,
) -> None:
    answer = await signup.register_user(registration.ctx, form(), CLIENT)
    assert answer["status"] == PENDING and answer["username"] == "ana.0"
    user = await registration.ctx.users.get(answer["user_id"])
    assert user is not None and user.status == PENDING
    # The unique keys hold placeholders: an unconfirmed sign-up blocks nobody.
    assert user.email_key.startswith("unclaimed:") and user.document_key.startswith("unclaimed:")
    assert user.claim_email_key == "ana.0@example.com"
    assert user.password_hash == f"fake${PASSWORD}" and user.security_answer_hash == "fake$firulais"
    [registered] = registration.events("UserRegistered")
    assert "Firulais" not in registered.to_json().decode()
    token = link_of(registration, user.id)
    assert await confirmation.confirm(registration.ctx, token) == ACTIVE
    user = await registration.ctx.users.get(user.id)
    assert user is not None and user.confirmed and user.email_key == "ana.0@example.com"
    assert registration.events("UserConfirmed")[0].payload.username == "ana.0"


async def test_only_a_taken_username_is_refused_naming_the_field(
    registration: Registration,
) -> None:
    await confirmed_user(registration, 0)
    with pytest.raises(Taken) as taken:
        await signup.register_user(registration.ctx, form(1, username="ana.0"), CLIENT)
    assert taken.value.status == 409 and taken.value.body()["detail"][0]["loc"] == [
        "body",
        "username",
    ]


async def test_a_weak_password_is_refused_before_anything_is_stored(
    registration: Registration,
) -> None:
    with pytest.raises(Invalid) as invalid:
        await signup.register_user(registration.ctx, form(password="password1"), CLIENT)
    assert invalid.value.field == "password"
    assert registration.ctx.users.documents == {}


async def test_a_held_email_gets_the_same_answer_no_link_and_its_holder_a_notice(
    registration: Registration,
) -> None:
    holder = await confirmed_user(registration, 0)
    answer = await signup.register_user(
        registration.ctx, form(1, email="ANA.0@example.com"), CLIENT
    )
    assert answer["status"] == PENDING
    registered = {str(e.payload.user_id) for e in registration.events("UserRegistered")}
    assert answer["user_id"] not in registered  # a link there could only fail
    [notice] = registration.events("SignUpAttempted")
    assert str(notice.payload.user_id) == holder and notice.payload.matched == ["email"]
    held = await registration.ctx.users.get(answer["user_id"])
    assert held is not None and held.confirm_kind == "held" and held.confirm_hash is None


async def test_a_held_document_gets_its_link_but_cannot_take_the_document(
    registration: Registration,
) -> None:
    holder = await confirmed_user(registration, 0)
    other = await sign_up(registration, 1, document_number=form(0).document_number)
    [notice] = registration.events("SignUpAttempted")
    assert str(notice.payload.user_id) == holder
    assert notice.payload.matched == ["document_number"]
    with pytest.raises(Taken) as taken:
        await confirmation.confirm(registration.ctx, link_of(registration, other))
    assert taken.value.field == "document_number"
    user = await registration.ctx.users.get(other)
    assert user is not None and user.status == PENDING


async def test_the_holder_is_told_at_most_once_a_minute(registration: Registration) -> None:
    await confirmed_user(registration, 0)
    for n in (1, 2):
        await sign_up(registration, n, email="ana.0@example.com")
    assert len(registration.events("SignUpAttempted")) == 1


async def test_an_expired_sign_up_releases_its_username(registration: Registration) -> None:
    first = await sign_up(registration, 0)
    registration.clock.advance(seconds=registration.ctx.settings.confirmation_ttl_s + 1)
    second = await sign_up(registration, 1, username="ana.0")
    assert await registration.ctx.users.get(first) is None
    assert await registration.ctx.users.get(second) is not None
