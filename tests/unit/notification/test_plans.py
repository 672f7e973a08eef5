"""Who gets which email for each event."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from notification.domain.delivery import delivery_id
from notification.domain.plans import EmailSpec, plan
from notification.service_layer.intake import deliveries_for
from secop_contracts.common import PersonRef
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


# Suscripción a notificaciones: membership names who chose each notice (notice_recipients);
# None is an event from before subscriptions existed, an empty list a choice of nobody.

ADMINS = [samples.person("a@x.co", "A"), samples.person("b@x.co", "B")]


def access_requested(recipients: list[PersonRef] | None) -> samples.AccessRequested:
    return samples.AccessRequested(
        producer="membership",
        payload={
            "membership_id": uuid4(),
            "account_id": uuid4(),
            "account_name": "H&H ASOCIADOS",
            "nit": "800111202",
            "user": samples.person("solicitante@x.co", "Pedro Gómez"),
            "administrators": ADMINS,
            "notice_recipients": recipients,
            "requested_at": samples.NOW,
        },
    )


def activated(recipients: list[PersonRef] | None) -> samples.AccountActivated:
    acct = samples.account("cuenta@x.co", ADMINS)
    return samples.AccountActivated(
        producer="membership",
        payload={**acct, "notice_recipients": recipients, "decided_at": samples.NOW},
    )


def addresses(specs: list[EmailSpec]) -> list[str]:
    return sorted(s.address for s in specs)


def test_access_requests_go_to_the_administrators_who_chose_them() -> None:
    assert addresses(plan(access_requested([ADMINS[1]]))) == ["b@x.co"]
    assert addresses(plan(access_requested(None))) == ["a@x.co", "b@x.co"]  # before: all
    assert plan(access_requested([])) == []


def test_account_decisions_go_to_the_notification_email_and_the_members_who_chose_them() -> None:
    member = samples.person("m@x.co", "Marta", "Europe/Madrid")
    chosen = plan(activated([member]))
    assert addresses(chosen) == ["cuenta@x.co", "m@x.co"]
    (to_member,) = [s for s in chosen if s.address == "m@x.co"]
    assert (to_member.name, to_member.time_zone) == ("Marta", "Europe/Madrid")
    assert to_member.context["full_name"] == "Marta"
    assert addresses(plan(activated(None))) == ["a@x.co", "b@x.co", "cuenta@x.co"]
    assert addresses(plan(activated([]))) == ["cuenta@x.co"]  # the account's address always


def test_a_submission_still_reaches_its_submitter_when_nobody_chose_activation() -> None:
    acct = samples.account("cuenta@x.co", ADMINS)
    submitter = samples.person("s@x.co", "Sara")
    event = samples.EntitySubmitted(
        producer="membership",
        payload={
            **acct,
            "submitted_by": submitter,
            "notice_recipients": [],
            "submitted_at": samples.NOW,
        },
    )
    assert addresses(plan(event)) == ["cuenta@x.co", "s@x.co"]


def test_members_who_follow_decisions_are_told_and_the_decided_user_still_gets_theirs() -> None:
    user = samples.person("pedro@x.co", "Pedro Gómez")
    follower = samples.person("m@x.co", "Marta", "Europe/Madrid")
    event = samples.access_decided(user, [follower, ADMINS[0]], "rejected", "No trabaja aquí.")
    specs = plan(event)
    assert [(s.template, s.address) for s in specs] == [
        ("access_decided", "pedro@x.co"),
        ("member_access_decided", "m@x.co"),
        ("member_access_decided", "a@x.co"),
    ]
    told = specs[1]
    assert (told.name, told.time_zone, told.context["full_name"]) == (
        "Marta",
        "Europe/Madrid",
        "Marta",
    )
    assert told.context["member_name"] == "Pedro Gómez"
    assert told.context["reason"] == "No trabaja aquí."
    assert "pedro@x.co" not in str(told.context)  # the user's address is not shown to members


def test_members_are_told_the_reason_of_a_rejection_only() -> None:
    user = samples.person("pedro@x.co", "Pedro Gómez")
    event = samples.access_decided(user, [ADMINS[0]], "cancelled", "Dejó la entidad.")
    (_, told) = plan(event)
    assert told.context["reason"] == ""


def test_a_decision_nobody_follows_is_told_to_the_decided_user_alone() -> None:
    user = samples.person("pedro@x.co", "Pedro Gómez")
    for recipients in (None, []):
        (spec,) = plan(samples.access_decided(user, recipients))
        assert (spec.template, spec.address) == ("access_decided", "pedro@x.co")


def test_a_decided_user_named_a_follower_too_gets_only_their_own_email() -> None:
    user = samples.person("pedro@x.co", "Pedro Gómez")
    same = samples.person("PEDRO@x.co", "Pedro Gómez")
    (spec,) = plan(samples.access_decided(user, [same]))
    assert spec.template == "access_decided"


def test_library_changes_go_to_each_member_who_chose_them_once() -> None:
    member = samples.person("m@x.co", "Marta", "Europe/Madrid")
    twice = samples.person("M@x.co", "Marta")
    specs = plan(samples.library_document_changed([member, ADMINS[0], twice]))
    assert [(s.template, s.address) for s in specs] == [
        ("library_document_changed", "m@x.co"),
        ("library_document_changed", "a@x.co"),
    ]
    assert (specs[0].name, specs[0].time_zone) == ("Marta", "Europe/Madrid")
    assert specs[1].context["full_name"] == "A"
    assert specs[0].context["title"] == "Certificado de <existencia>"
    assert (specs[0].context["action"], specs[0].context["version"]) == ("added", 1)
    assert plan(samples.library_document_changed(None)) == []
    assert plan(samples.library_document_changed([])) == []


def test_case_updates_go_to_each_member_who_chose_them_with_the_cases_state_only() -> None:
    member = samples.person("m@x.co", "Marta", "Europe/Madrid")
    event = samples.account_case_updated([member, member], change="resolved", status="resolved")
    (spec,) = plan(event)
    assert (spec.template, spec.address, spec.time_zone) == (
        "account_case_updated",
        "m@x.co",
        "Europe/Madrid",
    )
    assert set(spec.context) == {
        "full_name",
        "account_name",
        "nit",
        "case_number",
        "change",
        "status",
        "request_type",
        "changed_at",
    }
    assert plan(samples.account_case_updated(None)) == []
    assert plan(samples.account_case_updated([])) == []
