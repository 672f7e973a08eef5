"""The delivery state machine, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from notification.domain.delivery import (
    Delivery,
    NotRetryable,
    backoff,
    fail,
    is_due,
    redact,
    requeue,
    start_attempt,
    succeed,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=120)


def queued(limit: int = 3) -> Delivery:
    return Delivery(
        id="d" * 32,
        source_event_id="e",
        source_event_type="UserRegistered",
        template="account_confirmation",
        recipient="ana@example.co",
        recipient_name="Ana",
        time_zone="America/Bogota",
        context={},
        queued_at=T0,
        next_attempt_at=T0,
        attempt_limit=limit,
    )


def failed(d: Delivery, now: datetime, *, permanent: bool = False) -> Delivery:
    return fail(
        start_attempt(d, now, LEASE),
        now,
        "451 try later <ana@example.co>",
        permanent=permanent,
        backoff_base_s=10,
        backoff_max_s=25,
    )


def test_a_sent_delivery_is_never_due_again() -> None:
    d = start_attempt(queued(), T0, LEASE)
    assert d.state == "sending" and d.attempts == 1
    assert not is_due(d, T0) and is_due(d, T0 + LEASE)  # a dead holder's lease ends
    done = succeed(d, T0)
    assert done.state == "sent" and not is_due(done, T0 + timedelta(days=1))


def test_failures_back_off_exponentially_then_abandon_after_the_limit() -> None:
    d = failed(queued(), T0)
    assert d.state == "retrying" and d.next_attempt_at == T0 + timedelta(seconds=10)
    assert not is_due(d, T0) and is_due(d, d.next_attempt_at)
    d = failed(d, d.next_attempt_at)
    assert d.state == "retrying" and d.next_attempt_at - d.updated_at == timedelta(seconds=20)
    d = failed(d, d.next_attempt_at)
    assert d.state == "abandoned" and d.attempts == 3
    assert backoff(10, 10, 25) == timedelta(seconds=25)


def test_a_permanent_refusal_abandons_at_once_without_the_address_in_the_reason() -> None:
    d = failed(queued(), T0, permanent=True)
    assert d.state == "abandoned" and d.permanent and d.attempts == 1
    assert "ana@example.co" not in (d.last_error or "")
    assert redact("550 <x@y.co> unknown") == "550 <<address>> unknown"


def test_an_operator_retry_requeues_with_a_fresh_budget_only_when_stuck() -> None:
    d = failed(queued(limit=1), T0)
    assert d.state == "abandoned"
    again = requeue(d, T0, 5)
    assert again.state == "queued" and again.attempt_limit == 6 and is_due(again, T0)
    with pytest.raises(NotRetryable):
        requeue(again, T0, 5)
    with pytest.raises(NotRetryable):
        requeue(succeed(start_attempt(queued(), T0, LEASE), T0), T0, 5)
