"""The rules of a case: numbers, the desk's clock, resolution, and the desk's decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from support.domain import cases, decisions
from support.domain.cases import Actor, Case, CaseRuleError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)
AGENT = Actor("agent", str(uuid.uuid4()), "mesa.1")
REQUESTER = Actor("requester")
SUBJECTS = decisions.Subjects("Activación", "Perfil mixto", "Recuperación de usuario")


def a_case(**fields: object) -> Case:
    return Case(number="CCE-2026-000007", subject="Otros", **fields)  # type: ignore[arg-type]


def test_case_numbers_have_the_year_and_six_digits_and_parse_back() -> None:
    assert cases.format_case_number(2026, 123) == "CCE-2026-000123"
    assert cases.parse_case_number("CCE-2026-000123") == (2026, 123)
    assert cases.parse_case_number("CCE-2026-1234567") == (2026, 1234567)
    for bad in ("CCE-26-000123", "cce-2026-000123", "CCE-2026-12", "CCE-2026-000123x"):
        assert cases.parse_case_number(bad) is None


def test_only_an_agents_message_stops_the_desks_clock() -> None:
    case = a_case()
    assert "awaiting_response" not in cases.add_message(case, REQUESTER, "hola", NOW).state
    change = cases.add_message(case, AGENT, "Buenos días", NOW)
    assert change.state["awaiting_response"] is False
    assert change.state["first_response_at"] == NOW
    assert change.public and change.body == "Buenos días"
    answered = a_case(awaiting_response=False)
    assert "first_response_at" not in cases.add_message(answered, AGENT, "otra", NOW).state


def test_a_resolved_case_takes_no_messages_until_it_is_reopened() -> None:
    resolved = a_case(status="resolved")
    with pytest.raises(CaseRuleError, match="reopen"):
        cases.add_message(resolved, REQUESTER, "hola", NOW)
    with pytest.raises(CaseRuleError):
        cases.resolve(resolved, "again", AGENT, NOW)
    due = NOW + timedelta(hours=4)
    change = cases.reopen(resolved, "no funcionó", AGENT, NOW, due)
    assert change.state["status"] == "open"
    assert change.state["awaiting_response"] is True
    assert change.state["first_response_due"] == due
    with pytest.raises(CaseRuleError, match="not resolved"):
        cases.reopen(a_case(), "x", AGENT, NOW, due)


def test_assigning_the_current_assignee_again_records_nothing() -> None:
    agent_id = uuid.uuid4()
    change = cases.assign(a_case(), agent_id, AGENT, NOW)
    assert change is not None and change.state["assignee_id"] == str(agent_id)
    assert cases.assign(a_case(assignee_id=str(agent_id)), agent_id, AGENT, NOW) is None


def test_an_activation_needs_a_case_linked_to_a_submitted_entity() -> None:
    unlinked = Case(number="CCE-2026-000001", subject="Activación", account_id=str(uuid.uuid4()))
    with pytest.raises(CaseRuleError, match="not linked"):
        decisions.decision_kind(unlinked, SUBJECTS)
    unlinked.activation_linked = True
    assert decisions.decision_kind(unlinked, SUBJECTS) == "activation"
    with pytest.raises(CaseRuleError, match="decisions apply only"):
        decisions.decision_kind(a_case(), SUBJECTS)
    with pytest.raises(CaseRuleError, match="no account_id"):
        decisions.decision_kind(Case(number="CCE-2026-000002", subject="Perfil mixto"), SUBJECTS)


def test_request_changes_keeps_the_case_open_while_approve_and_reject_close_it() -> None:
    case = a_case(account_id=str(uuid.uuid4()))
    changes = decisions.decide(case, "activation", "request_changes", "Falta el RUT", AGENT, NOW)
    assert "status" not in changes.state and changes.state["decision"] == "request_changes"
    approved = decisions.decide(case, "activation", "approve", "", AGENT, NOW)
    assert approved.state["status"] == "resolved" and not approved.public
    with pytest.raises(CaseRuleError) as refused:
        decisions.decide(case, "activation", "reject", "  ", AGENT, NOW)
    assert refused.value.status == 422
    with pytest.raises(CaseRuleError) as mixed:
        decisions.decide(case, "mixed_profile", "request_changes", "x", AGENT, NOW)
    assert mixed.value.status == 422


def test_credentials_are_resent_only_on_user_recovery_cases() -> None:
    recovery = Case(number="CCE-2026-000003", subject="Recuperación de usuario")
    assert decisions.request_credentials(recovery, SUBJECTS, AGENT, NOW).public is False
    with pytest.raises(CaseRuleError, match="only on"):
        decisions.request_credentials(a_case(), SUBJECTS, AGENT, NOW)


def test_a_linked_resubmission_restarts_the_clock_only_when_it_had_stopped() -> None:
    due = NOW + timedelta(hours=8)
    waiting = a_case(awaiting_response=True, source_event_ids=["e1"])
    change = decisions.link_submission(waiting, "e2", "acc", "900123456", [], NOW, due)
    assert change.state["source_event_ids"] == ["e1", "e2"]
    assert "first_response_due" not in change.state
    answered = a_case(awaiting_response=False)
    restarted = decisions.link_submission(answered, "e3", "acc", "900123456", [], NOW, due)
    assert restarted.state["first_response_due"] == due
    assert restarted.state["activation_linked"] is True
