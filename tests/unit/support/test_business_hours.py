"""Due dates count only the desk's open hours in Bogotá, skipping Colombian holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from support.domain.business_hours import BOGOTA, DeskCalendar, bogota_year

pytestmark = pytest.mark.unit

desk = DeskCalendar()


def bogota(*args: int) -> datetime:
    return datetime(*args, tzinfo=BOGOTA)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("opened", "hours", "due", "why"),
    [
        (bogota(2026, 11, 24, 9), 4, bogota(2026, 11, 24, 13), "within one weekday"),
        (bogota(2026, 11, 20, 17), 8, bogota(2026, 11, 23, 9), "Fri 2h + Sat 4h + Mon 2h"),
        (bogota(2026, 11, 21, 11), 2, bogota(2026, 11, 23, 8), "Saturday closes at noon"),
        (bogota(2026, 11, 21, 13), 1, bogota(2026, 11, 23, 8), "Saturday afternoon is closed"),
        (bogota(2026, 11, 24, 22), 1, bogota(2026, 11, 25, 8), "opened at night"),
        (bogota(2026, 11, 25, 5, 30), 1, bogota(2026, 11, 25, 8), "opened before dawn"),
        (bogota(2026, 12, 7, 18), 2, bogota(2026, 12, 9, 8), "Immaculate Conception, Dec 8"),
        (bogota(2027, 1, 8, 18), 8, bogota(2027, 1, 12, 10), "Epiphany moved to Mon Jan 11"),
        (bogota(2026, 12, 31, 18), 2, bogota(2027, 1, 2, 9), "New Year's Day, then Saturday"),
        (bogota(2026, 11, 22, 10), 0, bogota(2026, 11, 23, 7), "zero hours: next opening"),
        (bogota(2026, 11, 24, 7), 12, bogota(2026, 11, 24, 19), "exactly one full weekday"),
    ],
)
def test_desk_hours_are_added_only_while_the_desk_is_open(
    opened: datetime, hours: float, due: datetime, why: str
) -> None:
    result = desk.add_desk_hours(opened, hours)
    assert result == due, why
    assert result.tzinfo is UTC


def test_an_sla_spanning_several_days_skips_sundays_and_holidays() -> None:
    # Fri Dec 4 18:00 + 24h: Fri 1, Sat 4, Mon Dec 7 12, (Tue Dec 8 holiday), Wed 7 -> 14:00.
    assert desk.add_desk_hours(bogota(2026, 12, 4, 18), 24) == bogota(2026, 12, 9, 14)


def test_a_naive_instant_is_taken_as_utc() -> None:
    naive_utc = datetime(2026, 11, 24, 14)  # 09:00 in Bogotá
    assert desk.add_desk_hours(naive_utc, 1) == bogota(2026, 11, 24, 10)


def test_the_desk_is_closed_on_sundays_holidays_and_outside_hours() -> None:
    assert desk.is_open(bogota(2026, 11, 24, 12))
    assert not desk.is_open(bogota(2026, 11, 24, 19))
    assert desk.is_open(bogota(2026, 11, 21, 11, 59))
    assert not desk.is_open(bogota(2026, 11, 22, 10))
    assert not desk.is_open(bogota(2026, 12, 8, 10))
    assert desk.is_holiday(date(2027, 1, 11))
    assert not desk.is_holiday(date(2027, 1, 6))


def test_negative_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        desk.add_desk_hours(bogota(2026, 11, 24, 9), -1)


def test_the_case_year_is_bogotas_year_not_utcs() -> None:
    assert bogota_year(datetime(2027, 1, 1, 3, tzinfo=UTC)) == 2026
    assert bogota_year(datetime(2027, 1, 1, 5, tzinfo=UTC)) == 2027
