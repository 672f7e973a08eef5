"""The user aggregate's rules, pure (no store): each changes the user and returns its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from registration.domain.tokens import Link, LinkRefused
from registration.domain.user import User

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
USER_ID = "6f1c2a9e-0d3b-4c55-9a7e-1b2c3d4e5f60"
DETAILS = {
    "full_name": "Ana María Pérez",
    "country": "CO",
    "document_type": "CC",
    "document_number": "52070000",
    "email": "Ana@example.com",
    "username": "ana",
    "security_question": "¿Mascota?",
    "mobile_phone": "+573001234567",
    "time_zone": "America/Bogota",
    "account_name": "ALCALDIA",
}


def link(name: str, hours: int = 24) -> Link:
    return Link(f"hash-{name}", NOW + timedelta(hours=hours), f"sealed-{name}")


def active_user() -> User:
    user, _ = User.sign_up(
        USER_ID, DETAILS, hashes=("pw", "answer"), now=NOW, link=link("c"), email_held=False
    )
    user.confirm("hash-c", NOW, link("r"))
    return user


def kinds(events: list) -> list[str]:
    return [type(e).__name__.removesuffix("Payload") for e in events]


def test_confirming_makes_the_claimed_keys_the_users_own() -> None:
    user, events = User.sign_up(
        USER_ID, DETAILS, hashes=("pw", "answer"), now=NOW, link=link("c"), email_held=False
    )
    assert kinds(events) == ["UserRegistered"] and user.email_key == f"unclaimed:{USER_ID}"
    assert kinds(user.confirm("hash-c", NOW, link("r"))) == ["UserConfirmed"]
    assert (user.status, user.email_key, user.document_key) == (
        "active",
        "ana@example.com",
        "CC:52070000",
    )
    assert user.confirm_hash is None and user.claim_email_key is None


def test_a_link_replaced_meanwhile_confirms_nothing() -> None:
    user, _ = User.sign_up(
        USER_ID, DETAILS, hashes=("pw", "answer"), now=NOW, link=link("c"), email_held=False
    )
    user.reissue_confirmation(link("newer"))
    with pytest.raises(LinkRefused):
        user.confirm("hash-c", NOW, link("r"))
    assert user.status == "pending_confirmation"


def test_a_new_password_ends_sessions_and_cancels_a_pending_email_change() -> None:
    user = active_user()
    user.edit(
        {"email": "otra@example.com"}, NOW, answer_hash=None, revert=link("r"), link=link("e")
    )
    assert user.pending_email == "otra@example.com" and user.confirm_hash == "hash-e"
    events = user.set_password("pw2", "profile", NOW)
    assert kinds(events) == ["PasswordChanged", "UserSessionsRevoked"]
    assert user.pending_email is None and user.confirm_hash is None
    assert user.sessions_revoked_before == NOW


def test_the_way_back_is_not_replaced_while_it_lives() -> None:
    user = active_user()
    user.edit({"email": "b@example.com"}, NOW, answer_hash=None, revert=link("r1"), link=link("e1"))
    user.confirm("hash-e1", NOW, link("r2"))
    assert user.email == "b@example.com" and user.revert_hash == "hash-r1"
    events = user.edit(
        {"email": "c@example.com"}, NOW, answer_hash=None, revert=link("r3"), link=link("e3")
    )
    notices = [e for e in events if kinds([e]) == ["AccountChangeNotice"]]
    assert {n.email for n in notices} == {"b@example.com", "Ana@example.com"}
    assert {n.sealed_revert_token for n in notices} == {"sealed-r1"}


def test_revoking_a_role_ends_every_session_and_an_unchanged_role_says_nothing() -> None:
    user = active_user()
    assert kinds(user.set_role("support_agent", grant=True, now=NOW)) == ["UserRolesChanged"]
    assert user.set_role("support_agent", grant=True, now=NOW) == []
    revoked = user.set_role("support_agent", grant=False, now=NOW)
    assert kinds(revoked) == ["UserRolesChanged", "UserSessionsRevoked"]
    assert user.roles == [] and user.sessions_revoked_before == NOW


def test_an_unconfirmed_sign_up_expires_with_its_link_but_an_email_change_never() -> None:
    user, _ = User.sign_up(
        USER_ID, DETAILS, hashes=("pw", "answer"), now=NOW, link=link("c", 1), email_held=True
    )
    assert not user.expired(NOW) and user.expired(NOW + timedelta(hours=2))
    assert not active_user().expired(NOW + timedelta(days=30))
