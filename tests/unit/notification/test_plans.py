"""Who gets which email for each event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from notification.domain.delivery import delivery_id
from notification.domain.plans import plan
from notification.service_layer.intake import deliveries_for
from secop_contracts.support import CaseMessageAdded
from secop_runtime.sealing import generate_keypair

from tests.unit.notification import samples

pytestmark = pytest.mark.unit

_, PUBLIC = generate_keypair()


def test_account_decisions_go_to_the_notification_email_and_each_administrator_once() -> None:
    admins = [samples.person("a@x.co", "A"), samples.person("B@x.co", "B")]
    acct = samples.account("b@X.co", admins)
    event = samples.AccountActivated(
        producer="membership", payload={**acct, "decided_at": samples.NOW}
    )
    specs = plan(event)
    assert sorted(s.address.lower() for s in specs) == ["a@x.co", "b@x.co"]
    assert {s.template for s in specs} == {"account_activated"}


def test_access_requests_go_to_every_administrator() -> None:
    events = samples.every_event(PUBLIC, "admin@x.co")
    access = next(e for e in events if e.event_type == "AccessRequested")
    (spec,) = plan(access)
    assert spec.address == "admin@x.co"
    assert spec.context["requester_email"] == "solicitante@example.co"


def test_only_an_agents_case_message_is_mailed() -> None:
    events = samples.every_event(PUBLIC, "r@x.co")
    agent = next(e for e in events if isinstance(e, CaseMessageAdded))
    own = CaseMessageAdded(
        producer="support",
        payload={**agent.payload.model_dump(), "author": "requester", "agent_id": None},
    )
    assert len(plan(agent)) == 1
    assert plan(own) == []


def test_the_same_event_gives_the_same_delivery_ids() -> None:
    event = samples.user_registered(PUBLIC, "Ana@Example.co")
    first = deliveries_for(event, datetime.now(UTC), 5)
    again = deliveries_for(event, datetime.now(UTC), 5)
    assert [d.id for d in first] == [d.id for d in again]
    assert first[0].id == delivery_id(str(event.event_id), "ana@example.co", "account_confirmation")
    assert first[0].recipient == "ana@example.co"
    assert "document_number" not in first[0].context  # only what the email shows is kept


def test_an_invitation_goes_to_the_invitee_by_the_name_the_administrator_wrote() -> None:
    (spec,) = plan(samples.member_invited(PUBLIC, "Carla@Example.co"))
    assert (spec.template, spec.address, spec.name) == (
        "member_invited",
        "Carla@Example.co",
        "Carla Ruiz",
    )
    assert spec.context["roles"] == ["Usuario Administrador", "Usuario Comprador"]
    assert spec.sealed_token and "invite-135" not in str(spec.context)


def test_a_revocation_membership_says_not_to_tell_the_invitee_sends_nothing() -> None:
    """Past the account's (or the address's) daily invitation emails a revocation still
    revokes, and nobody is emailed about it."""
    assert plan(samples.invitation_revoked("carla@example.co", notify_invitee=False)) == []
    (told,) = plan(samples.invitation_revoked("carla@example.co"))
    assert (told.template, told.address, told.context["reason"]) == (
        "invitation_revoked",
        "carla@example.co",
        "revoked",
    )
