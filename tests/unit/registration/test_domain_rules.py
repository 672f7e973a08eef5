"""Password policy, normalisation and throttling arithmetic (pure, milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from registration.domain import identity, throttling
from registration.domain.passwords import PasswordPolicy, password_problem
from registration.domain.tokens import TokenProblem, check, issue, owner_of, token_hash

pytestmark = pytest.mark.unit

SECOP = PasswordPolicy.named("secop")
NIST = PasswordPolicy.named("nist")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_secop_policy_accepts_letters_numbers_and_specials_of_eight_or_more() -> None:
    assert password_problem("Vq7#kmz!", SECOP) is None


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("Ab1#", "at least 8"),
        ("abcdefgh12", "letters, numbers and special"),
        ("abcdefgh#!", "letters, numbers and special"),
        ("A1#" + "x" * 126, "at most 128"),
        ("P@ssw0rd", "too common"),
        ("p@ssw0rd", "too common"),
    ],
)
def test_secop_policy_refuses_weak_passwords_with_a_reason(password: str, fragment: str) -> None:
    problem = password_problem(password, SECOP)
    assert problem is not None and fragment in problem


def test_a_password_may_not_contain_the_username_or_the_email_local_part() -> None:
    assert "username" in (password_problem("xx#1Ana.Perez", SECOP, username="ana.perez") or "")
    problem = password_problem("9!JUANITO99x", SECOP, email="juanito99@correo.co")
    assert problem is not None and "email" in problem


def test_nist_policy_wants_fifteen_characters_and_no_composition() -> None:
    assert password_problem("correct horse battery", NIST) is None
    assert password_problem("Vq7#kmz!Vq7#kmz", NIST) is None  # 15 exactly
    assert "too common" in (password_problem("1qaz2wsx3edc4rfv", NIST) or "")
    assert password_problem("shortbutcomplex#1", NIST) is None
    assert "at least 15" in (password_problem("Vq7#kmz!", NIST) or "")


def test_usernames_are_case_insensitive_and_limited_to_a_small_alphabet() -> None:
    assert identity.normalise_username(" Ana.Perez_1 ") == "ana.perez_1"
    for bad in ("ab", "a" * 65, "ana perez", "añá", "ana@perez"):
        with pytest.raises(ValueError):
            identity.normalise_username(bad)


def test_emails_are_unique_case_insensitively_and_phones_become_e164() -> None:
    assert identity.email_key(identity.normalise_email("Ana.Perez@Correo.CO")) == (
        "ana.perez@correo.co"
    )
    with pytest.raises(ValueError):
        identity.normalise_email("not-an-email")
    assert identity.normalise_phone("300 123 4567") == "+573001234567"
    assert identity.normalise_phone("+57 300 123 4567") == "+573001234567"
    with pytest.raises(ValueError):
        identity.normalise_phone("12")


def test_time_zones_are_iana_and_secop_label_means_bogota() -> None:
    assert identity.normalise_time_zone("(UTC-05:00) Bogotá, Lima, Quito") == "America/Bogota"
    assert identity.normalise_time_zone("Europe/Madrid") == "Europe/Madrid"
    with pytest.raises(ValueError):
        identity.normalise_time_zone("Mars/Olympus")


def test_documents_and_answers_are_normalised() -> None:
    assert identity.normalise_document_type("cc") == "CC"
    assert identity.normalise_document_number("1.020.304") == "1020304"
    assert identity.normalise_answer("  Mi  Perro ") == "mi perro"


def test_email_hint_shows_first_and_last_letters_only() -> None:
    assert identity.email_hint("ana.z@dominio.co") == "a***z@d***o.co"
    assert identity.email_hint("al@x.com") == "a***@x***.com"


def test_no_wait_before_five_failures_then_one_minute_doubling_to_fifteen() -> None:
    assert [throttling.wait_after(n) for n in range(0, 11)] == [
        0, 0, 0, 0, 0, 60, 120, 240, 480, 900, 900,
    ]  # fmt: skip
    assert throttling.wait_after(99) == 900


def test_login_gate_waits_per_client_and_locks_only_clients_that_are_not_known_devices() -> None:
    F = throttling.Failures
    gate = throttling.login_gate(F(5, T0, 5), False, T0 + timedelta(seconds=20))
    assert not gate.open and gate.retry_after_s == 40 and not gate.locked
    assert throttling.login_gate(F(5, T0, 5), False, T0 + timedelta(seconds=60)).open
    assert throttling.login_gate(F(4, T0, 4), False, T0).open
    # A stranger's failures (counted for the user, not this client) make nobody else wait.
    assert throttling.login_gate(F(0, None, 99), False, T0).open
    locked = throttling.login_gate(F(0, None, 100), False, T0 + timedelta(days=30))
    assert not locked.open and locked.locked and locked.retry_after_s > 0
    assert throttling.login_gate(F(0, None, 100), True, T0).open  # the owner's own device
    # A client's failures are forgotten a day after its last one.
    assert throttling.login_gate(F(9, T0, 9), False, T0 + timedelta(days=1)).open
    assert throttling.starts_lock(100) and not throttling.starts_lock(101)


def test_device_cookies_are_bound_to_their_user_and_key_and_expire() -> None:
    from registration.domain import devices

    key, other = devices.derive_key(b"one"), devices.derive_key(b"two")
    cookie = devices.issue(key, "user-1", T0)
    assert devices.recognise(key, cookie, "user-1", T0, 3600)
    assert devices.recognise(key, cookie, "user-2", T0, 3600) is None  # another account
    assert devices.recognise(other, cookie, "user-1", T0, 3600) is None  # another key
    assert devices.recognise(key, cookie, "user-1", T0 + timedelta(hours=2), 3600) is None
    # A password change or reset since the cookie was issued: no longer the owner's device.
    later = T0 + timedelta(minutes=5)
    assert devices.recognise(key, cookie, "user-1", later, 3600, not_before=later) is None
    assert devices.recognise(key, cookie, "user-1", later, 3600, not_before=T0)
    forged = cookie.replace("user-1", "user-2")
    assert devices.recognise(key, forged, "user-2", T0, 3600) is None
    assert devices.recognise(key, "d1.x.y.z", "user-1", T0, 3600) is None
    ghost = devices.subject_of_unknown(key, "ana.perez")
    assert "ana" not in ghost and ghost == devices.subject_of_unknown(key, "ana.perez")


def test_ip_windows_are_fixed_minutes() -> None:
    now = T0 + timedelta(seconds=15)
    assert throttling.window_start(now, 60) == int(T0.timestamp())
    assert throttling.window_retry_after(now, 60) == 45


def test_email_rate_allows_one_a_minute_and_five_an_hour() -> None:
    def ok(sent: list[datetime], now: datetime) -> bool:
        return throttling.may_send(sent, now, min_interval_s=60, per_hour=5)

    assert ok([], T0)
    assert not ok([T0], T0 + timedelta(seconds=59))
    assert ok([T0], T0 + timedelta(seconds=61))
    five = [T0 + timedelta(minutes=10 * i) for i in range(5)]
    assert not ok(five, T0 + timedelta(minutes=50))
    assert ok(five, T0 + timedelta(minutes=61))


def test_tokens_are_random_stored_as_hashes_and_expire() -> None:
    owner = "6f1c2b9e-0d4a-4c8e-9b7a-2f3e4d5c6b7a"
    a, b = issue(T0, 60, owner), issue(T0, 60, owner)
    assert a.plain != b.plain and len(a.plain.partition(".")[2]) >= 43
    assert owner_of(a.plain) == owner  # found by _id, never by a scan of every user's hash
    for foreign in ("no-dot-at-all", "not-a-uuid.x", f"{owner[:-1]}Z.x", ".x", ""):
        assert owner_of(foreign) is None
    assert a.hash == token_hash(a.plain) and a.plain not in a.hash
    assert check(a.expires_at, T0) is None
    assert check(a.expires_at, T0 + timedelta(seconds=60)) is TokenProblem.EXPIRED
    assert check(None, T0) is TokenProblem.UNKNOWN
