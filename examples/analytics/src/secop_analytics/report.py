"""``secop-analytics report``: the views, read into one dictionary, printed as text or JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from secop_analytics.store import Store

DEFAULT_TIME_ZONE = "America/Bogota"
SECTIONS = {
    "sign_ups_per_day": "Sign-ups per day (confirmed: of those, how many confirmed since)",
    "time_to_confirmation": "Time to confirmation (registration -> the same user's confirmation)",
    "activation_lead_time": "Activation lead time (submitted -> the service desk's decision; "
    "pending: waiting so far)",
    "access_request_outcomes": "Access requests (requested -> the administrators' answer; "
    "pending: waiting so far)",
}


def _rows(store: Store, view: str) -> list[dict[str, Any]]:
    cursor = store.con.execute(f"SELECT * FROM {view}")  # noqa: S608 - our own view names
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def build(store: Store, time_zone: str = DEFAULT_TIME_ZONE) -> dict[str, Any]:
    """Every section of the report; days fall in ``time_zone``."""
    ZoneInfo(time_zone)  # refuses an unknown name before it reaches SQL
    store.con.execute(f"SET TimeZone = '{time_zone}'")
    [(events, first, last)] = store.con.execute(
        "SELECT count(*), min(occurred_at), max(occurred_at) FROM events"
    ).fetchall()
    report: dict[str, Any] = {
        "time_zone": time_zone,
        "events": events,
        "first_event_at": first,
        "last_event_at": last,
        "rejected_records": store.count("rejected_records"),
    }
    for view in SECTIONS:
        report[view] = _rows(store, view)
    [report["time_to_confirmation"]] = report["time_to_confirmation"]  # one row, always
    return report


def as_json(report: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, date | datetime):
            return value.isoformat()
        raise TypeError(f"not JSON: {type(value).__name__}")

    return json.dumps(report, default=default, indent=2)


def duration(seconds: float | None) -> str:
    """Seconds as a person reads them: 4.2s, 3m 05s, 2h 10m, 4d 03h."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = round(seconds)
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def _cell(name: str, value: Any) -> str:
    if name.endswith("_s"):
        return duration(value)
    return "-" if value is None else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """A plain text table: a header, then one line a row, numbers to the right."""
    if not rows:
        return "  (none yet)"
    names = list(rows[0])
    headers = [n.removesuffix("_s") for n in names]  # the cells say their unit
    cells = [[_cell(n, row[n]) for n in names] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    right = [not isinstance(rows[0][n], str) for n in names]

    def line(values: list[str]) -> str:
        return "  " + "  ".join(
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        )

    return "\n".join([line(headers), *(line(c) for c in cells)]).rstrip()


def as_text(report: dict[str, Any]) -> str:
    lines = [
        f"SECOP accounts: {report['events']} events, from {report['first_event_at'] or '-'} "
        f"to {report['last_event_at'] or '-'}; days in {report['time_zone']}",
    ]
    if report["rejected_records"]:
        lines.append(f"({report['rejected_records']} records were not events: rejected_records)")
    for view, title in SECTIONS.items():
        rows = report[view]
        lines += ["", title, table(rows if isinstance(rows, list) else [rows])]
    return "\n".join(lines)
