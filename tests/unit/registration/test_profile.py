"""Editing one's own data on fakes: what needs the password, what is told, what collides."""

from __future__ import annotations

import pytest
from registration.service_layer import confirmation, email_revert, profile
from registration.service_layer.errors import Taken, WrongCurrentPassword
from secop_runtime.errors import Invalid

from tests.unit.registration.conftest import Registration
from tests.unit.registration.steps import CLIENT, PASSWORD, confirmed_user, form, link_of

pytestmark = pytest.mark.unit


async def me(registration: Registration, user_id: str):
    user = await registration.ctx.users.get(user_id)
    assert user is not None
    return user


async def test_personal_data_changes_are_announced_without_the_answer(
    registration: Registration,
) -> None:
    user_id = await confirmed_user(registration)
    edit = {"full_name": "Ana M. Pérez", "time_zone": "America/Lima", "security_answer": "Otro"}
    await profile.update_profile(
        registration.ctx, await me(registration, user_id), edit, None, CLIENT
    )
    [updated] = registration.events("UserProfileUpdated")
    assert set(updated.payload.changed_fields) == {"full_name", "time_zone", "security_answer"}
    assert "Otro" not in updated.to_json().decode()
    user = await me(registration, user_id)
    assert user.full_name == "Ana M. Pérez" and user.security_answer_hash == "fake$otro"


async def test_a_new_email_needs_the_password_and_waits_for_its_link_with_a_way_back(
    registration: Registration,
) -> None:
    ctx = registration.ctx
    user_id = await confirmed_user(registration)
    move = {"email": "ana.nueva@example.com"}
    with pytest.raises(Invalid) as bare:
        await profile.update_profile(ctx, await me(registration, user_id), dict(move), None, CLIENT)
    assert bare.value.field == "current_password"
    with pytest.raises(WrongCurrentPassword):
        await profile.update_profile(
            ctx, await me(registration, user_id), dict(move), "Wrong#pass1", CLIENT
        )
    await profile.update_profile(ctx, await me(registration, user_id), dict(move), PASSWORD, CLIENT)
    user = await me(registration, user_id)
    assert user.email == "ana.0@example.com" and user.pending_email == "ana.nueva@example.com"
    [asked] = registration.events("AccountChangeNotice")
    assert asked.payload.change == "email_change_requested"
    assert asked.payload.email == "ana.0@example.com"
    revert = link_of(registration, user_id, "AccountChangeNotice")

    await confirmation.confirm(ctx, link_of(registration, user_id, "ConfirmationRequested"))
    user = await me(registration, user_id)
    assert user.email == "ana.nueva@example.com" and user.pending_email is None
    assert link_of(registration, user_id, "AccountChangeNotice") == revert  # the same way back

    await email_revert.revert_email_change(ctx, revert, CLIENT)
    user = await me(registration, user_id)
    assert user.email == "ana.0@example.com" and user.password_hash is None
    [revoked] = registration.events("UserSessionsRevoked")
    assert revoked.payload.reason == "email_reverted"


async def test_a_document_someone_holds_answers_409_and_its_holder_is_told(
    registration: Registration,
) -> None:
    holder = await confirmed_user(registration, 0)
    user_id = await confirmed_user(registration, 1)
    change = {"document_number": form(0).document_number}
    with pytest.raises(Taken) as taken:
        await profile.update_profile(
            registration.ctx, await me(registration, user_id), change, PASSWORD, CLIENT
        )
    assert taken.value.field == "document_number"
    [notice] = registration.events("SignUpAttempted")
    assert str(notice.payload.user_id) == holder
    user = await me(registration, user_id)
    assert user.document_number == form(1).document_number


async def test_a_taken_username_is_refused_and_a_free_one_announced_to_the_owner(
    registration: Registration,
) -> None:
    await confirmed_user(registration, 0)
    user_id = await confirmed_user(registration, 1)
    with pytest.raises(Taken):
        await profile.change_username(
            registration.ctx, await me(registration, user_id), PASSWORD, "ana.0", CLIENT
        )
    await profile.change_username(
        registration.ctx, await me(registration, user_id), PASSWORD, "ana.nueva", CLIENT
    )
    [renamed] = registration.events("AccountChangeNotice")
    assert renamed.payload.previous_username == "ana.1"
    assert (await me(registration, user_id)).username == "ana.nueva"
