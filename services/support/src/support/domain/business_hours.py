"""The service desk's hours, and due dates counted in desk hours.

The desk answers Monday to Friday 07:00-19:00 and Saturday 08:00-12:00, Bogotá time, and is
closed on Sundays and on Colombia's public holidays (from the ``holidays`` library, which
applies the "Ley Emiliani" moves to Monday). An SLA of N hours means N hours during which the
desk is open, so a case opened on Friday evening is due on Monday, not on Saturday night.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

BOGOTA = ZoneInfo("America/Bogota")

#: weekday (Monday = 0) -> (opens, closes) in Bogotá time; a missing day is closed.
DESK_HOURS: dict[int, tuple[time, time]] = {
    0: (time(7), time(19)),
    1: (time(7), time(19)),
    2: (time(7), time(19)),
    3: (time(7), time(19)),
    4: (time(7), time(19)),
    5: (time(8), time(12)),
}

#: Far enough for any SLA; stops a misconfigured calendar from looping forever.
MAX_DAYS_AHEAD = 3660


class DeskCalendar:
    """When the desk is open; pure (the holiday table is computed, not downloaded)."""

    def __init__(self, hours: dict[int, tuple[time, time]] | None = None) -> None:
        self._hours = DESK_HOURS if hours is None else hours
        self._holidays = holidays.country_holidays("CO")

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The open interval of ``day`` (Bogotá), or None when the desk is closed all day."""
        hours = self._hours.get(day.weekday())
        if hours is None or self.is_holiday(day):
            return None
        opens, closes = hours
        return (
            datetime.combine(day, opens, tzinfo=BOGOTA),
            datetime.combine(day, closes, tzinfo=BOGOTA),
        )

    def is_open(self, at: datetime) -> bool:
        local = _aware(at).astimezone(BOGOTA)
        window = self.window(local.date())
        return window is not None and window[0] <= local < window[1]

    def add_desk_hours(self, start: datetime, hours: float) -> datetime:
        """The instant (UTC) after ``hours`` of open desk time counted from ``start``.

        Zero hours gives the next moment the desk is open (``start`` itself if open).
        """
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        cursor = _aware(start).astimezone(BOGOTA)
        day = cursor.date()
        for _ in range(MAX_DAYS_AHEAD):
            window = self.window(day)
            if window is not None and cursor < window[1]:
                begin = max(cursor, window[0])
                available = window[1] - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
            day += timedelta(days=1)
            cursor = datetime.combine(day, time(0), tzinfo=BOGOTA)
        raise ValueError("the desk calendar has no open hours ahead")


def _aware(at: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the database and the events store UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def bogota_year(at: datetime) -> int:
    """Case numbers follow the calendar year in Bogotá, not in UTC."""
    return _aware(at).astimezone(BOGOTA).year
