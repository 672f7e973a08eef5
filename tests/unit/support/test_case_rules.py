"""The rules of a case: numbers, the desk's clock, resolution, and the desk's decisions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from secop_runtime.errors import Conflict, Invalid
from support.domain import cases, decisions
from support.domain.cases import Actor

from tests.unit.support.cases import NOW, a_case

pytestmark = pytest.mark.unit

AGENT = Actor("agent", str(uuid.uuid4()), "mesa.1")
REQUESTER = Actor("requester")
SUBJECTS = decisions.Subjects("Activación", "Perfil mixto", "Recuperación de usuario")


def test_case_numbers_have_the_year_and_six_digits_and_parse_back() -> None:
    assert cases.format_case_number(2026, 123) == "CCE-2026-000123"
    assert cases.parse_case_number("CCE-2026-000123") == (2026, 123)
    assert cases.parse_case_number("CCE-2026-1234567") == (2026, 1234567)
    for bad in ("CCE-26-000123", "cce-2026-000123", "CCE-2026-12", "CCE-2026-000123x"):
        assert cases.parse_case_number(bad) is None


def test_only_an_agents_message_stops_the_desks_clock() -> None:
    case = a_case()
    case.add_message(REQUESTER, "hola", NOW)
    assert case.awaiting_response is True and case.first_response_at is None
    entry = case.add_message(AGENT, "Buenos días", NOW)
    assert case.awaiting_response is False
    assert case.first_response_at == NOW
    assert entry.public and entry.body == "Buenos días"
    later = NOW + timedelta(hours=1)
    case.add_message(AGENT, "otra", later)
    assert case.first_response_at == NOW


def test_every_action_appends_one_numbered_entry_to_the_history() -> None:
    case = a_case()
    case.add_message(REQUESTER, "hola", NOW)
    case.resolve("listo", AGENT, NOW)
    assert [(e.version, e.action) for e in case.history] == [(1, "message"), (2, "resolved")]
    assert case.actions == 2 and case.updated_at == NOW


def test_a_resolved_case_takes_no_messages_until_it_is_reopened() -> None:
    resolved = a_case(status="resolved")
    with pytest.raises(Conflict, match="reopen"):
        resolved.add_message(REQUESTER, "hola", NOW)
    with pytest.raises(Conflict):
        resolved.resolve("again", AGENT, NOW)
    due = NOW + timedelta(hours=4)
    resolved.reopen("no funcionó", AGENT, NOW, due)
    assert resolved.status == "open"
    assert resolved.awaiting_response is True
    assert resolved.first_response_due == due
    with pytest.raises(Conflict, match="not resolved"):
        a_case().reopen("x", AGENT, NOW, due)


def test_assigning_the_current_assignee_again_records_nothing() -> None:
    agent_id = uuid.uuid4()
    case = a_case()
    entry = case.assign(agent_id, AGENT, NOW)
    assert entry is not None and case.assignee_id == str(agent_id)
    assert case.assign(agent_id, AGENT, NOW) is None
    assert len(case.history) == 1


def test_an_activation_needs_a_case_linked_to_a_submitted_entity() -> None:
    unlinked = a_case("CCE-2026-000001", subject="Activación", account_id=str(uuid.uuid4()))
    with pytest.raises(Conflict, match="not linked"):
        decisions.decision_kind(unlinked, SUBJECTS)
    unlinked.activation_linked = True
    assert decisions.decision_kind(unlinked, SUBJECTS) == "activation"
    with pytest.raises(Conflict, match="decisions apply only"):
        decisions.decision_kind(a_case(), SUBJECTS)
    with pytest.raises(Conflict, match="no account_id"):
        decisions.decision_kind(a_case("CCE-2026-000002", subject="Perfil mixto"), SUBJECTS)


def test_request_changes_keeps_the_case_open_while_approve_and_reject_close_it() -> None:
    case = a_case(account_id=str(uuid.uuid4()))
    decisions.decide(case, "activation", "request_changes", "Falta el RUT", AGENT, NOW)
    assert case.status == "open" and case.decision == "request_changes"
    approved = decisions.decide(case, "activation", "approve", "", AGENT, NOW)
    assert case.status == "resolved" and not approved.public
    with pytest.raises(Invalid) as refused:
        decisions.decide(a_case(), "activation", "reject", "  ", AGENT, NOW)
    assert refused.value.status == 422
    with pytest.raises(Invalid) as mixed:
        decisions.decide(a_case(), "mixed_profile", "request_changes", "x", AGENT, NOW)
    assert mixed.value.status == 422


def test_a_mixed_profile_is_approved_only_for_a_requester_who_proved_their_email() -> None:
    case = a_case(subject="Perfil mixto", account_id=str(uuid.uuid4()), access_key_hash="h")
    with pytest.raises(Conflict, match="has not written on it"):
        decisions.decide(case, "mixed_profile", "approve", "", AGENT, NOW)
    case.requester_confirmed_at = NOW
    decisions.decide(case, "mixed_profile", "approve", "", AGENT, NOW)
    assert case.status == "resolved"


def test_credentials_are_resent_only_on_user_recovery_cases() -> None:
    recovery = a_case("CCE-2026-000003", subject="Recuperación de usuario")
    assert decisions.request_credentials(recovery, SUBJECTS, AGENT, NOW).public is False
    with pytest.raises(Conflict, match="only on"):
        decisions.request_credentials(a_case(), SUBJECTS, AGENT, NOW)


def test_a_linked_resubmission_restarts_the_clock_only_when_it_had_stopped() -> None:
    due = NOW + timedelta(hours=8)
    waiting = a_case(awaiting_response=True, source_event_ids=["e1"])
    before = waiting.first_response_due
    decisions.link_submission(waiting, "e2", "acc", "900123456", [], NOW, due)
    assert waiting.source_event_ids == ["e1", "e2"]
    assert waiting.first_response_due == before
    answered = a_case(awaiting_response=False)
    decisions.link_submission(answered, "e3", "acc", "900123456", [], NOW, due)
    assert answered.first_response_due == due
    assert answered.activation_linked is True
    assert decisions.link_submission(answered, "e3", "acc", "900123456", [], NOW, due) is None
