"""Opening a case: consecutive numbers per Bogotá year, one case per source, the access key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from secop_contracts.support import CaseOpened
from secop_runtime.errors import Invalid, Throttled, Unavailable
from support.adapters.fakes import FakeCases
from support.domain.access import key_hash
from support.service_layer.opening import NewCase, open_case, open_requested_case

from tests.unit.support.conftest import Desk, web_case

pytestmark = pytest.mark.unit


async def test_cases_are_numbered_one_after_another_within_bogotas_year(desk: Desk) -> None:
    numbers = [(await desk.open(f"p{i}@example.co"))[0] for i in range(3)]
    assert numbers == ["CCE-2026-000001", "CCE-2026-000002", "CCE-2026-000003"]
    # 22:00 in Bogotá on New Year's Eve is already 2027 in UTC: the number keeps Bogotá's year.
    desk.at(datetime(2027, 1, 1, 3, tzinfo=UTC))
    assert (await desk.open())[0] == "CCE-2026-000004"
    desk.at(datetime(2027, 1, 1, 5, tzinfo=UTC))
    assert (await desk.open())[0] == "CCE-2027-000001"


async def test_a_number_lost_to_another_opening_is_taken_again_from_the_newest(
    desk: Desk,
) -> None:
    await desk.open()
    stale = StaleNumbers(desk.cases, lag=1)
    desk.ctx.cases = stale
    number, _ = await desk.open("late@example.co")
    assert number == "CCE-2026-000002" and stale.collisions == 1


async def test_numbering_that_keeps_colliding_answers_unavailable(desk: Desk) -> None:
    await desk.open()
    desk.settings(case_number_attempts=3)
    desk.ctx.cases = StaleNumbers(desk.cases, lag=10**6)
    with pytest.raises(Unavailable, match="could not allocate a case number") as busy:
        await desk.open("late@example.co")
    assert busy.value.status == 503 and busy.value.headers == {"Retry-After": "1"}


async def test_one_source_opens_one_case_however_often_it_is_delivered(desk: Desk) -> None:
    new = NewCase(**(web_case() | {"source_key": "event:e-1"}))
    first = await open_case(desk.ctx, new)
    again = await open_case(desk.ctx, new)
    assert again.id == first.id and len(desk.cases.documents) == 1
    assert len(desk.events(CaseOpened)) == 1


async def test_the_opening_email_carries_the_key_the_case_keeps_only_hashed(desk: Desk) -> None:
    number, key = await desk.open()
    case = await desk.cases.get(number)
    assert case is not None and case.access_key_hash == key_hash(key)
    [opened] = desk.events(CaseOpened)
    assert opened.payload.case_number == number
    assert opened.payload.first_response_due == case.first_response_due
    assert key.encode() not in opened.to_json()


async def test_a_subject_outside_the_catalogue_is_refused_before_any_limit_counts(
    desk: Desk,
) -> None:
    new = NewCase(**(web_case() | {"subject": "Astrología"}))
    with pytest.raises(Invalid, match="unknown subject") as refused:
        await open_requested_case(desk.ctx, new, "203.0.113.7")
    assert refused.value.field == "subject" and desk.limiter.hits == {}


async def test_an_email_past_its_limit_is_throttled_and_its_address_hit_withdrawn(
    desk: Desk,
) -> None:
    desk.settings(rate_limit_email_max=2)
    for _ in range(2):
        await open_requested_case(desk.ctx, NewCase(**web_case()), "203.0.113.7")
    with pytest.raises(Throttled, match="this email address") as refused:
        await open_requested_case(desk.ctx, NewCase(**web_case()), "203.0.113.7")
    assert int(refused.value.headers["Retry-After"]) > 0
    ip_hits = [k for k, _ in desk.limiter.hits.values() if k.startswith("ip:")]
    assert len(ip_hits) == 2 and len(desk.cases.documents) == 2


class StaleNumbers(FakeCases):
    """A case store whose highest number lags ``lag`` reads behind (another instance won)."""

    def __init__(self, real: FakeCases, lag: int) -> None:
        super().__init__()
        self.documents, self.events = real.documents, real.events
        self.lag, self.collisions = lag, 0

    async def highest_seq(self, year: int) -> int:
        if self.lag:
            self.lag -= 1
            self.collisions += 1
            return 0
        return await super().highest_seq(year)
