"""What agents do on a case: reply, assign, resolve, reopen; each a change with its events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from secop_contracts.support import CaseAssigned, CaseMessageAdded, CaseReopened, CaseResolved
from secop_runtime.errors import Conflict, NotFound
from support.adapters.fakes import FakeCases
from support.domain.cases import Actor, Case
from support.service_layer import handling

from tests.unit.support.cases import NOW
from tests.unit.support.conftest import Desk

pytestmark = pytest.mark.unit

AGENT = Actor("agent", str(uuid.uuid4()), "mesa.1")


async def test_an_agents_reply_stops_the_clock_and_is_told_to_the_requester(desk: Desk) -> None:
    number, _ = await desk.open()
    later = NOW + timedelta(minutes=5)
    desk.at(later)
    case = await handling.agent_writes(desk.ctx, number, AGENT, "Estamos revisando.")
    assert case.awaiting_response is False and case.first_response_at == later
    [added] = desk.events(CaseMessageAdded)
    assert added.payload.author == "agent" and str(added.payload.agent_id) == AGENT.id
    assert added.payload.message_id == f"{number}:00000001"
    assert added.payload.requester.email == "ana@example.co"
    stored = await desk.cases.get(number)
    assert stored is not None and stored.actions == 1 and stored.version == 2


async def test_a_case_is_resolved_once_and_reopened_with_a_new_due_date(desk: Desk) -> None:
    number, _ = await desk.open()
    resolved = await handling.resolve(desk.ctx, number, "Se restableció el acceso.", AGENT)
    assert resolved.status == "resolved" and resolved.resolution == "Se restableció el acceso."
    with pytest.raises(Conflict, match="reopen it before you resolve it"):
        await handling.resolve(desk.ctx, number, "otra vez", AGENT)
    with pytest.raises(Conflict, match="reopen it before you add a message"):
        await handling.agent_writes(desk.ctx, number, AGENT, "¿algo más?")
    desk.at(NOW + timedelta(days=1))
    reopened = await handling.reopen(desk.ctx, number, "Sigue fallando", AGENT)
    assert reopened.status == "open" and reopened.awaiting_response is True
    assert reopened.resolved_at is None and reopened.first_response_due > NOW + timedelta(days=1)
    with pytest.raises(Conflict, match="not resolved"):
        await handling.reopen(desk.ctx, number, "otra", AGENT)
    assert len(desk.events(CaseResolved)) == 1 and len(desk.events(CaseReopened)) == 1
    stored = await desk.cases.get(number)
    assert stored is not None
    assert [e.action for e in stored.history] == ["resolved", "reopened"]
    assert "resolved_at" not in desk.cases.documents[number]


async def test_assigning_the_same_agent_twice_records_and_tells_it_once(desk: Desk) -> None:
    number, _ = await desk.open()
    me, colleague = uuid.UUID(AGENT.id), uuid.uuid4()
    await handling.assign(desk.ctx, number, me, AGENT)
    await handling.assign(desk.ctx, number, me, AGENT)
    handed = await handling.assign(desk.ctx, number, colleague, AGENT)
    assert handed.assignee_id == str(colleague)
    assert handed.history[-1].details["previous_assignee_id"] == AGENT.id
    assert [e.payload.assignee_id for e in desk.events(CaseAssigned)] == [me, colleague]


async def test_acting_on_an_unknown_case_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound, match="case not found") as missing:
        await handling.resolve(desk.ctx, "CCE-2026-000099", "x", AGENT)
    assert missing.value.status == 404
    assert desk.cases.events == []


async def test_a_decision_taken_on_a_stale_case_is_taken_again_on_the_new_one(
    desk: Desk,
) -> None:
    number, _ = await desk.open()
    racing = RivalResolves(desk, number)
    desk.ctx.cases = racing
    with pytest.raises(Conflict, match="reopen it before you resolve it"):
        await handling.resolve(desk.ctx, number, "segundo", AGENT)
    assert racing.raced
    assert [e.payload.resolution for e in desk.events(CaseResolved)] == ["primero"]


class RivalResolves(FakeCases):
    """Another agent resolves the case between our first read and our write."""

    def __init__(self, desk: Desk, number: str) -> None:
        super().__init__()
        self.documents, self.events = desk.cases.documents, desk.cases.events
        self.desk, self.number, self.raced = desk, number, False

    async def get(self, aggregate_id: str) -> Case | None:
        case = await super().get(aggregate_id)
        if not self.raced:
            self.raced = True
            await handling.resolve(self.desk.ctx, self.number, "primero", AGENT)
        return case


async def test_replies_resolutions_and_reopenings_name_the_account_the_case_is_about(
    desk: Desk,
) -> None:
    """Membership tells the account's members who follow its cases from these events."""
    account_id = uuid.uuid4()
    number, _ = await desk.open(account_id=str(account_id))
    await handling.agent_writes(desk.ctx, number, AGENT, "Estamos revisando.")
    await handling.resolve(desk.ctx, number, "Listo.", AGENT)
    await handling.reopen(desk.ctx, number, "Sigue fallando", AGENT)
    for kind in (CaseMessageAdded, CaseResolved, CaseReopened):
        [event] = desk.events(kind)
        assert event.payload.account_id == account_id, kind.__name__


async def test_a_case_about_no_account_names_none_in_its_events(desk: Desk) -> None:
    number, _ = await desk.open()
    await handling.agent_writes(desk.ctx, number, AGENT, "Estamos revisando.")
    await handling.resolve(desk.ctx, number, "Listo.", AGENT)
    await handling.reopen(desk.ctx, number, "Sigue fallando", AGENT)
    events = [*desk.events(CaseMessageAdded), *desk.events(CaseResolved)]
    events += desk.events(CaseReopened)
    assert len(events) == 3 and all(e.payload.account_id is None for e in events)
