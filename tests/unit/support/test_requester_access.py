"""A requester follows a case with its key and their email; nothing else tells it exists."""

from __future__ import annotations

import pytest
from secop_runtime.errors import Invalid, NotFound, Throttled
from support.service_layer import handling

from tests.unit.support.conftest import Desk

pytestmark = pytest.mark.unit

CLIENT = "203.0.113.7"


async def test_the_key_and_the_email_together_open_the_case(desk: Desk) -> None:
    number, key = await desk.open("Ana@Example.co")
    case = await handling.requester_view(desk.ctx, number, CLIENT, " ana@example.CO ", key)
    assert case.id == number


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("ana@example.co", "a wrong key"),
        ("ana@example.co", None),
        ("eve@example.co", "the right key"),
        (None, "the right key"),
    ],
)
async def test_a_wrong_key_or_email_is_answered_as_an_unknown_case(
    desk: Desk, email: str | None, key: str | None
) -> None:
    number, right = await desk.open()
    given = right if key == "the right key" else key
    with pytest.raises(NotFound, match="case not found"):
        await handling.requester_view(desk.ctx, number, CLIENT, email, given)
    with pytest.raises(NotFound, match="case not found"):
        await handling.requester_view(desk.ctx, "CCE-2026-000999", CLIENT, "ana@example.co", right)


async def test_a_case_opened_before_keys_existed_opens_with_the_email_alone(desk: Desk) -> None:
    number, _ = await desk.open()
    del desk.cases.documents[number]["access_key_hash"]
    case = await handling.requester_view(desk.ctx, number, CLIENT, "ana@example.co", None)
    assert case.id == number


async def test_writing_with_the_key_proves_the_requester_owns_the_email(desk: Desk) -> None:
    number, key = await desk.open()
    case = await handling.requester_writes(desk.ctx, number, CLIENT, "hola", "ana@example.co", key)
    assert case.requester_confirmed_at is not None and case.awaiting_response is True
    with pytest.raises(NotFound):
        await handling.requester_writes(desk.ctx, number, CLIENT, "x", "ana@example.co", "bad")
    with pytest.raises(Invalid, match="email is required") as missing:
        await handling.requester_writes(desk.ctx, number, CLIENT, "x", None, key)
    assert missing.value.field == "email"
    stored = await desk.cases.get(number)
    assert stored is not None and [e.body for e in stored.history] == ["hola"]


async def test_only_wrong_guesses_count_against_a_case(desk: Desk) -> None:
    desk.settings(follow_limit_per_minute=3)
    number, key = await desk.open()
    for i in range(3):
        with pytest.raises(NotFound):
            await handling.requester_view(desk.ctx, number, f"198.51.100.{i}", "a@b.co", "x")
    with pytest.raises(Throttled, match="too many requests") as throttled:
        await handling.requester_view(desk.ctx, number, "198.51.100.9", "a@b.co", "x")
    assert throttled.value.status == 429 and throttled.value.extra["retry_after_s"] > 0
    # The requester, with the key, still gets in: only failures count per case.
    case = await handling.requester_view(desk.ctx, number, "192.0.2.1", "ana@example.co", key)
    assert case.id == number


async def test_one_client_address_may_follow_cases_only_so_often(desk: Desk) -> None:
    desk.settings(follow_limit_per_minute=2)
    number, key = await desk.open()
    for _ in range(2):
        await handling.requester_view(desk.ctx, number, CLIENT, "ana@example.co", key)
    with pytest.raises(Throttled):
        await handling.requester_view(desk.ctx, number, CLIENT, "ana@example.co", key)
