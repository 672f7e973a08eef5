"""Activation without a phone call, and the desk's decisions on accounts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from secop_contracts.common import PersonRef
from secop_contracts.membership import DocumentRef, EntitySubmitted, EntitySubmittedPayload
from secop_contracts.support import (
    AccountActivationDecided,
    CaseOpened,
    EntitySubmissionLinked,
    MixedProfileDecided,
)
from secop_runtime.errors import Conflict, Invalid
from support.config import ACTIVATION_SUBJECT, MIXED_PROFILE_SUBJECT
from support.domain.cases import Actor
from support.service_layer import deciding, handling
from support.service_layer.activation import on_entity_submitted

from tests.unit.support.cases import NOW
from tests.unit.support.conftest import Desk

pytestmark = pytest.mark.unit

AGENT = Actor("agent", str(uuid.uuid4()), "mesa.1")
ADMIN = "laura@alcaldia.gov.co"


def submitted(account_id: uuid.UUID, nit: str = "900123456", email: str = ADMIN):
    admin = PersonRef(user_id=uuid.uuid4(), full_name="Laura Gómez", email=email)
    document = DocumentRef(
        document_id="d1",
        doc_type="rut",
        filename="rut.pdf",
        content_type="application/pdf",
        size=1234,
        sha256="0" * 64,
    )
    return EntitySubmitted(
        producer="membership",
        payload=EntitySubmittedPayload(
            account_id=account_id,
            kind="entity",
            legal_name="ALCALDIA DE VILLA DE LEYVA",
            nit=nit,
            notification_email="contratos@alcaldia.gov.co",
            administrators=[admin],
            documents=[document],
            submitted_by=admin,
            submitted_at=datetime.now(UTC),
        ),
    )


async def test_a_submission_opens_one_activation_case_however_often_it_arrives(
    desk: Desk,
) -> None:
    event = submitted(uuid.uuid4())
    number = await on_entity_submitted(desk.ctx, event)
    assert await on_entity_submitted(desk.ctx, event) == number
    case = await desk.cases.get(number)
    assert case is not None and case.origin == "entity_submitted" and case.activation_linked
    assert case.subject == ACTIVATION_SUBJECT and case.requester.email == ADMIN
    assert [d["filename"] for d in case.documents] == ["rut.pdf"]
    assert "rut.pdf" in case.description
    assert len(desk.events(CaseOpened)) == 1


async def test_a_submission_joins_the_open_case_its_administrator_opened(desk: Desk) -> None:
    account_id = uuid.uuid4()
    mine, _ = await desk.open(ADMIN, subject=ACTIVATION_SUBJECT, nit="900123456")
    strangers, _ = await desk.open("eve@example.co", subject=ACTIVATION_SUBJECT, nit="900123456")
    submission = submitted(account_id)
    assert await on_entity_submitted(desk.ctx, submission) == mine
    assert await on_entity_submitted(desk.ctx, submission) == mine  # a redelivery
    linked = await desk.cases.get(mine)
    assert linked is not None and linked.account_id == str(account_id)
    assert [e.action for e in linked.history] == ["entity_submission_linked"]
    # Membership hears the case is the account's own now (once), for its desk and agent.
    [told] = desk.events(EntitySubmissionLinked)
    assert told.payload.case_number == mine and told.payload.account_id == account_id
    assert told.payload.opened_at == linked.opened_at
    untouched = await desk.cases.get(strangers)
    assert untouched is not None and untouched.account_id is None


async def test_an_approval_reaches_membership_and_closes_the_case(desk: Desk) -> None:
    account_id = uuid.uuid4()
    number = await on_entity_submitted(desk.ctx, submitted(account_id))
    case = await deciding.decide(desk.ctx, number, "approve", "Bienvenidos.", AGENT)
    assert case.status == "resolved" and case.decision == "approve"
    [decided] = desk.events(AccountActivationDecided)
    assert decided.payload.account_id == account_id and decided.payload.case_number == number
    assert decided.payload.requester.email == ADMIN
    with pytest.raises(Conflict, match="resolved"):
        await deciding.decide(desk.ctx, number, "reject", "No.", AGENT)


async def test_a_resubmission_after_requested_changes_restarts_the_desks_clock(
    desk: Desk,
) -> None:
    account_id = uuid.uuid4()
    number = await on_entity_submitted(desk.ctx, submitted(account_id))
    with pytest.raises(Invalid, match="say what the requester must change"):
        await deciding.decide(desk.ctx, number, "request_changes", " ", AGENT)
    changes = await deciding.decide(desk.ctx, number, "request_changes", "El RUT venció.", AGENT)
    assert changes.status == "open" and changes.awaiting_response is False
    desk.at(NOW + timedelta(days=2))
    assert await on_entity_submitted(desk.ctx, submitted(account_id)) == number
    again = await desk.cases.get(number)
    assert again is not None and again.awaiting_response is True
    assert again.first_response_due > NOW + timedelta(days=2)


async def test_a_mixed_profile_waits_for_the_requester_to_write_with_the_key(desk: Desk) -> None:
    account = str(uuid.uuid4())
    number, key = await desk.open(ADMIN, subject=MIXED_PROFILE_SUBJECT, account_id=account)
    with pytest.raises(Conflict, match="has not written on it"):
        await deciding.decide(desk.ctx, number, "approve", "", AGENT)
    await handling.requester_writes(desk.ctx, number, "192.0.2.1", "Soy yo.", ADMIN, key)
    case = await deciding.decide(desk.ctx, number, "approve", "", AGENT)
    assert case.status == "resolved"
    [decided] = desk.events(MixedProfileDecided)
    assert str(decided.payload.account_id) == account and decided.payload.decision == "approve"


async def test_a_case_about_something_else_carries_no_decision(desk: Desk) -> None:
    number, _ = await desk.open()
    with pytest.raises(Conflict, match="decisions apply only"):
        await deciding.decide(desk.ctx, number, "approve", "", AGENT)
    with pytest.raises(Conflict, match="credentials are resent only on"):
        await deciding.request_credentials(desk.ctx, number, AGENT)
    stored = await desk.cases.get(number)
    assert stored is not None and stored.history == [] and stored.version == 1
