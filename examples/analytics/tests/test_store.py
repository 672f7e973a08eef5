"""The store and the report's views on an in-memory DuckDB, with copies written by hand in the
shape the ``analytics.*`` topics carry (the cluster-wide test is
tests/e2e/test_analytics_example.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from secop_analytics import report
from secop_analytics.store import Record, Store

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 22:00 on 1 December in Bogotá
PREFIX = "analytics."
HASH = "ab" * 32


def at(hours: float = 0, seconds: float = 0) -> str:
    return (T0 + timedelta(hours=hours, seconds=seconds)).isoformat()


class Topics:
    """Writes copies as the projector does: the envelope, the payload, the aggregate as key."""

    def __init__(self) -> None:
        self.offset = 0

    def record(self, event_type: str, key: str, payload: dict[str, Any], **envelope: Any) -> Record:
        self.offset += 1
        value = {
            "event_id": str(envelope.get("event_id", uuid.uuid4())),
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": payload.get("at", at()),
            "producer": "registration",
            "correlation_id": None,
            "causation_id": None,
            "payload": payload,
        }
        return Record(PREFIX + event_type, 0, self.offset, key.encode(), json.dumps(value).encode())


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.open(":memory:")
    yield store
    store.close()


def one(store: Store, sql: str, *params: Any) -> Any:
    return store.con.execute(sql, list(params)).fetchall()


def test_an_event_read_again_is_stored_once(store: Store) -> None:
    topics = Topics()
    user = str(uuid.uuid4())
    first = topics.record("UserRegistered", user, {"user_id": user, "registered_at": at()})

    assert store.add([first], PREFIX).stored == 1
    again = store.add([first, first], PREFIX)  # a redelivery, twice

    assert (again.read, again.stored, again.duplicates) == (2, 0, 2)
    assert store.count() == 1


def test_a_record_that_is_not_an_event_of_its_topic_is_kept_aside(store: Store) -> None:
    topics = Topics()
    user = str(uuid.uuid4())
    good = topics.record("UserConfirmed", user, {"user_id": user, "confirmed_at": at()})
    elsewhere = Record("analytics.UserRegistered", 0, 99, None, good.value)
    broken = Record("analytics.UserRegistered", 0, 100, None, b"{not json")

    added = store.add([good, elsewhere, broken], PREFIX)

    assert (added.stored, added.rejected) == (1, 2)
    rejected = one(store, 'SELECT "offset", error FROM rejected_records ORDER BY 1')
    assert [r[0] for r in rejected] == [99, 100]
    assert "UserConfirmed" in rejected[0][1]


def test_sign_ups_count_per_bogota_day_and_time_to_confirmation(store: Store) -> None:
    topics, records = Topics(), []
    for n, confirm_after in enumerate((30, 90, 150, None)):
        user = str(uuid.uuid4())
        payload = {"user_id": user, "registered_at": at(seconds=n), "email": HASH}
        records.append(topics.record("UserRegistered", user, payload))
        if confirm_after is not None:
            confirmed = {"user_id": user, "confirmed_at": at(seconds=n + confirm_after)}
            records.append(topics.record("UserConfirmed", user, confirmed))
            later = {"user_id": user, "confirmed_at": at(hours=48)}  # a new email, confirmed
            records.append(topics.record("UserConfirmed", user, later))
    store.add(records, PREFIX)

    built = report.build(store)

    [day] = built["sign_ups_per_day"]
    assert (day["day"].isoformat(), day["sign_ups"], day["confirmed"]) == ("2026-12-01", 4, 3)
    timing = built["time_to_confirmation"]
    assert (timing["confirmed"], timing["median_s"]) == (3, 90)
    assert timing["p90_s"] == pytest.approx(138)
    utc = report.build(store, "UTC")["sign_ups_per_day"]
    assert utc[0]["day"].isoformat() == "2026-12-02"


def decision(event_type: str, account: str, kind: str, hours: float) -> tuple[str, dict]:
    return event_type, {"account_id": account, "kind": kind, "decided_at": at(hours)}


def test_activation_lead_time_runs_from_each_submission_to_the_next_decision(
    store: Store,
) -> None:
    topics = Topics()
    approved, refused, waiting, supplier = (str(uuid.uuid4()) for _ in range(4))

    def submitted(account: str, hours: float, again: bool = False) -> tuple[str, dict]:
        payload = {"account_id": account, "kind": "entity", "submitted_at": at(hours)}
        return "EntitySubmitted", payload | {"resubmission": again, "nit": HASH}

    flow = [
        submitted(approved, 0),
        decision("AccountChangesRequested", approved, "entity", 1),
        submitted(approved, 2, again=True),
        decision("AccountActivated", approved, "entity", 5),
        submitted(refused, 0),
        decision("AccountRejected", refused, "entity", 2),
        submitted(waiting, 0),
        decision("AccountActivated", supplier, "supplier", 3),
    ]
    store.add([topics.record(t, p["account_id"], p) for t, p in flow], PREFIX)

    rows = one(
        store,
        "SELECT account_id, outcome, seconds FROM activation_lead_times "
        "WHERE outcome <> 'pending' ORDER BY account_id, seconds",
    )
    assert sorted(rows) == sorted(
        [
            (approved, "changes_requested", 3600.0),
            (approved, "approved", 3 * 3600.0),
            (refused, "refused", 2 * 3600.0),
            (supplier, "approved", 0.0),
        ]
    )
    summary = {
        (r["kind"], r["outcome"]): r["submissions"]
        for r in report.build(store)["activation_lead_time"]
    }
    assert summary == {
        ("entity", "approved"): 1,
        ("entity", "changes_requested"): 1,
        ("entity", "pending"): 1,
        ("entity", "refused"): 1,
        ("supplier", "approved"): 1,
    }


def test_an_access_request_ends_as_its_latest_answer_and_a_reverted_one_waits_again(
    store: Store,
) -> None:
    topics, records = Topics(), []
    account = str(uuid.uuid4())
    decisions = {
        "accepted": ["accepted"],
        "refused": ["rejected"],
        "reverted": ["rejected", "reverted"],
        "accepted_then_cancelled": ["rejected", "reverted", "accepted", "cancelled"],
        "unanswered": [],
    }
    ids = {name: str(uuid.uuid4()) for name in decisions}
    for name, steps in decisions.items():
        membership = {"membership_id": ids[name], "account_id": account}
        requested = membership | {"user": {"user_id": str(uuid.uuid4())}, "requested_at": at()}
        records.append(topics.record("AccessRequested", account, requested))
        for n, step in enumerate(steps, start=1):
            decided = membership | {"decision": step, "decided_at": at(hours=n)}
            records.append(topics.record("AccessDecided", account, decided))
    store.add(records, PREFIX)

    outcomes = dict(one(store, "SELECT membership_id, outcome FROM access_requests"))
    assert {name: outcomes[ids[name]] for name in decisions} == {
        "accepted": "accepted",
        "refused": "refused",
        "reverted": "pending",
        "accepted_then_cancelled": "accepted",
        "unanswered": "pending",
    }
    counted = {r["outcome"]: r["requests"] for r in report.build(store)["access_request_outcomes"]}
    assert counted == {"accepted": 2, "pending": 2, "refused": 1}


def test_the_text_report_names_every_section_and_reads_durations(store: Store) -> None:
    text = report.as_text(report.build(store))

    assert "0 events" in text and text.count("(none yet)") == 3
    for title in report.SECTIONS.values():
        assert title in text
    assert [report.duration(s) for s in (None, 4.25, 185, 7800, 2 * 86400 + 3 * 3600)] == [
        "-",
        "4.2s",
        "3m 05s",
        "2h 10m",
        "2d 03h",
    ]
