"""The desk ("Escritorio"), notice choices ("Suscripción a notificaciones") and support cases
about an account, through the service layer over the fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from membership.service_layer import accounts, desk, documents, lifecycle, memberships
from secop_contracts.membership import (
    AccessDecided,
    AccessRequested,
    AccountActivated,
    AccountCaseUpdated,
)
from secop_contracts.support import (
    AccountActivationDecided,
    CaseAssigned,
    CaseMessageAdded,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    EntitySubmissionLinked,
    Requester,
)
from secop_runtime.errors import Conflict, Invalid, NotFound, Refused
from secop_runtime.events import new_event

from tests.unit.membership.conftest import supplier_form
from tests.unit.membership.test_account_use_cases import ready, upload
from tests.unit.membership.test_roster_use_cases import joinable_entity

pytestmark = pytest.mark.unit
T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def emails(people) -> list[str]:
    return sorted(p.email for p in people or [])


def email_of(ctx, principal) -> str:
    return ctx.users.views[str(principal.user_id)]["email"]


def case_events(ctx) -> list[AccountCaseUpdated]:
    return [e for e in ctx.cases.events if isinstance(e, AccountCaseUpdated)]


async def admitted(ctx, admin, account_id, user, roles):
    await memberships.request_access(ctx, user, account_id)
    await memberships.decide(ctx, admin, account_id, str(user.user_id), "accept", roles=roles)


async def test_administrators_receive_access_requests_until_another_one_does(ctx, person):
    ana, eva, beto = person("Ana Admin"), person("Eva Admin"), person("Beto Buyer")
    entity = await joinable_entity(ctx, ana)
    await admitted(ctx, ana, entity, eva, ["administrator"])
    await admitted(ctx, ana, entity, beto, ["buyer"])

    mine = await desk.my_notices(ctx, ana, entity)
    assert mine["defaults"] and mine["notices"] == ["access_requests", "activation"]
    assert (await desk.my_notices(ctx, beto, entity))["notices"] == []
    # a buyer may not hear of people outside the account
    with pytest.raises(Invalid, match="only administrators"):
        await desk.choose_notices(ctx, beto, entity, ["access_requests"])
    with pytest.raises(Invalid, match="unknown notices: gossip"):
        await desk.choose_notices(ctx, ana, entity, ["gossip"])
    assert (await desk.choose_notices(ctx, beto, entity, ["case_updates"]))["notices"] == [
        "case_updates"
    ]

    # Ana stops: Eva still receives them. Eva may not stop then: someone must hear.
    chosen = await desk.choose_notices(ctx, ana, entity, ["activation"])
    assert chosen == {
        "notices": ["activation"],
        "available": [
            "access_requests",
            "access_decisions",
            "activation",
            "document_changes",
            "case_updates",
        ],
        "defaults": False,
        "access_requests_as_fallback": False,
    }
    with pytest.raises(Conflict, match="another administrator must receive"):
        await desk.choose_notices(ctx, eva, entity, [])

    carla = person("Carla Pide")
    await memberships.request_access(ctx, carla, entity)
    asked = [e for e in ctx.accounts.events if isinstance(e, AccessRequested)][-1]
    assert emails(asked.payload.notice_recipients) == [email_of(ctx, eva)]
    assert len(asked.payload.administrators) == 2  # the roster is still told as before

    # Eva is cancelled: nobody chose access requests, so every administrator hears again.
    await memberships.decide(ctx, ana, entity, str(eva.user_id), "cancel")
    dario = person("Dario Pide")
    await memberships.request_access(ctx, dario, entity)
    asked = [e for e in ctx.accounts.events if isinstance(e, AccessRequested)][-1]
    assert emails(asked.payload.notice_recipients) == [email_of(ctx, ana)]
    assert (await desk.my_notices(ctx, ana, entity))["access_requests_as_fallback"] is True


async def test_decisions_reach_the_members_who_follow_them_but_not_the_decider(ctx, person):
    ana, eva, beto = person("Ana Admin"), person("Eva Admin"), person("Beto Buyer")
    entity = await joinable_entity(ctx, ana)
    await admitted(ctx, ana, entity, eva, ["administrator"])
    decided = [e for e in ctx.accounts.events if isinstance(e, AccessDecided)][-1]
    assert decided.payload.notice_recipients == []  # nobody follows decisions by default

    await desk.choose_notices(ctx, eva, entity, ["access_requests", "access_decisions"])
    await desk.choose_notices(ctx, ana, entity, ["access_requests", "access_decisions"])
    await memberships.request_access(ctx, beto, entity)
    await memberships.decide(ctx, ana, entity, str(beto.user_id), "reject", reason="no")
    decided = [e for e in ctx.accounts.events if isinstance(e, AccessDecided)][-1]
    assert emails(decided.payload.notice_recipients) == [email_of(ctx, eva)]

    # Eva loses the administrator role: notices about outsiders stop for her.
    await memberships.set_roles(ctx, ana, entity, str(eva.user_id), ["buyer"])
    await memberships.decide(ctx, ana, entity, str(beto.user_id), "revert-rejection")
    decided = [e for e in ctx.accounts.events if isinstance(e, AccessDecided)][-1]
    assert decided.payload.notice_recipients == []
    assert (await desk.my_notices(ctx, eva, entity))["notices"] == []


async def test_activation_notices_follow_the_choices(ctx, person):
    ana = person("Ana Admin")
    supplier = await ready(ctx, ana, supplier_form("900700800"))
    await desk.choose_notices(ctx, ana, supplier, ["access_requests"])
    await lifecycle.submit_account(ctx, ana, supplier)
    (activated,) = [e for e in ctx.accounts.events if isinstance(e, AccountActivated)]
    assert activated.payload.notice_recipients == []
    assert activated.payload.notification_email == "avisos@nandu.co"  # still told


def opened(account_id, requester_email, *, at=T0, origin="web", number="CCE-2026-000001", by=None):
    requester = Requester(full_name="Quien Pide", email=requester_email)
    payload = {
        "case_number": number,
        "requester": requester,
        "system": "SECOP_II",
        "request_type": "Activación de cuenta",
        "subject": "Necesito ayuda",
        "user_type": "comprador",
        "description": "texto del caso",
        "account_id": account_id,
        "opened_by_user": by,
        "origin": origin,
        "opened_at": at,
        "first_response_due": at + timedelta(days=1),
    }
    return new_event(CaseOpened, "support", payload)


def answered(account_id, at, number="CCE-2026-000001"):
    requester = Requester(full_name="Quien Pide", email="x@example.co")
    payload = {
        "case_number": number,
        "message_id": uuid.uuid4().hex,
        "author": "agent",
        "agent_id": uuid.uuid4(),
        "body": "respuesta",
        "requester": requester,
        "added_at": at,
        "account_id": account_id,
    }
    return new_event(CaseMessageAdded, "support", payload)


def resolved(account_id, at, number="CCE-2026-000001"):
    requester = Requester(full_name="Quien Pide", email="x@example.co")
    payload = {
        "case_number": number,
        "resolution": "listo",
        "requester": requester,
        "resolved_by": uuid.uuid4(),
        "resolved_at": at,
        "account_id": account_id,
    }
    return new_event(CaseResolved, "support", payload)


def reopened(account_id, at, number="CCE-2026-000001"):
    payload = {
        "case_number": number,
        "reopened_by": uuid.uuid4(),
        "reopened_at": at,
        "account_id": account_id,
    }
    return new_event(CaseReopened, "support", payload)


async def test_a_members_case_is_on_the_desk_and_its_followers_hear_of_it(ctx, person):
    ana, beto = person("Ana Admin"), person("Beto Buyer")
    entity = await joinable_entity(ctx, ana)
    await admitted(ctx, ana, entity, beto, ["buyer"])
    await desk.choose_notices(ctx, beto, entity, ["case_updates"])

    first = opened(entity, email_of(ctx, beto), by=beto.user_id)
    await desk.follow_case(ctx, first)
    await desk.follow_case(ctx, first)  # a redelivery tells nobody twice
    await desk.follow_case(ctx, answered(entity, T0 + timedelta(hours=1)))
    await desk.follow_case(ctx, answered(entity, T0 + timedelta(hours=1)))
    told = case_events(ctx)
    assert [e.payload.change for e in told] == ["opened", "answered"]
    assert emails(told[0].payload.notice_recipients) == [email_of(ctx, beto)]
    assert "texto" not in told[0].model_dump_json()  # no words of the case travel

    view = await desk.desk(ctx, beto, entity)
    assert [c["case_number"] for c in view["open_cases"]] == ["CCE-2026-000001"]
    assert view["open_cases"][0]["last_change"] == "answered"
    assert view["pending_access_requests"] == [] and view["administrator"] is False

    await desk.follow_case(ctx, resolved(entity, T0 + timedelta(hours=2)))
    assert (await desk.desk(ctx, beto, entity))["open_cases"] == []
    await desk.follow_case(ctx, reopened(entity, T0 + timedelta(hours=3)))
    assert len((await desk.desk(ctx, beto, entity))["open_cases"]) == 1
    assert [e.payload.change for e in case_events(ctx)][-2:] == ["resolved", "reopened"]


async def test_a_resolution_heard_before_the_opening_wins(ctx, person):
    ana = person("Ana Admin")
    entity = await joinable_entity(ctx, ana)
    await desk.follow_case(ctx, resolved(entity, T0 + timedelta(hours=2)))
    assert case_events(ctx) == []  # not known to be the account's yet: silent
    await desk.follow_case(ctx, opened(entity, "", origin="entity_submitted"))
    assert (await desk.desk(ctx, ana, entity))["open_cases"] == []
    (told,) = case_events(ctx)
    assert told.payload.change == "opened" and told.payload.status == "resolved"


async def test_a_strangers_case_naming_the_account_is_neither_shown_nor_mailed(ctx, person):
    ana, mallory = person("Ana Admin"), person("Mallory Extraña")
    entity = await joinable_entity(ctx, ana)
    await desk.choose_notices(ctx, ana, entity, ["access_requests", "case_updates"])
    await desk.follow_case(ctx, opened(entity, email_of(ctx, mallory), by=mallory.user_id))
    # a case opened without logging in, in a member's name: the typed email proves nothing
    await desk.follow_case(ctx, opened(entity, email_of(ctx, ana), number="CCE-2026-000004"))
    await desk.follow_case(ctx, answered(entity, T0 + timedelta(hours=1)))
    await desk.follow_case(ctx, opened(str(uuid.uuid4()), "a@b.co", number="CCE-2026-000002"))
    assert case_events(ctx) == []
    assert (await desk.desk(ctx, ana, entity))["open_cases"] == []


async def test_strangers_cases_naming_the_account_do_not_push_its_own_off_the_desk(ctx, person):
    """Anyone may open cases naming any account (support's form needs no login): however many
    a stranger opens, the account's own open case is still on its desk."""
    ana, mallory = person("Ana Admin"), person("Mallory Extraña")
    entity = await joinable_entity(ctx, ana)
    for n in range(desk.DESK_CASES * 4):
        number = f"CCE-2026-{n + 100:06d}"
        await desk.follow_case(ctx, opened(entity, email_of(ctx, mallory), number=number))
    own = opened(entity, email_of(ctx, ana), at=T0 + timedelta(hours=1), by=ana.user_id)
    await desk.follow_case(ctx, own)
    view = await desk.desk(ctx, ana, entity)
    assert [c["case_number"] for c in view["open_cases"]] == ["CCE-2026-000001"]


async def test_the_desk_shows_administrators_what_waits_for_them(ctx, person):
    ana, beto, carla = person("Ana Admin"), person("Beto Buyer"), person("Carla Pide")
    entity = await joinable_entity(ctx, ana)
    await admitted(ctx, ana, entity, beto, ["buyer"])
    await memberships.request_access(ctx, carla, entity)
    view = await desk.desk(ctx, ana, entity)
    assert view["administrator"] is True
    assert [r["user_id"] for r in view["pending_access_requests"]] == [str(carla.user_id)]
    assert view["account"]["status"] == "pending_activation"
    assert (await desk.desk(ctx, beto, entity))["pending_access_requests"] == []
    with pytest.raises(Refused):
        await desk.desk(ctx, carla, entity)  # pending is not a member yet
    with pytest.raises(Refused):
        await desk.choose_notices(ctx, carla, entity, [])


async def test_maintenance_forgets_resolved_and_strangers_cases_after_their_retention(ctx, person):
    ana, mallory = person("Ana Admin"), person("Mallory Extraña")
    entity = await joinable_entity(ctx, ana)
    await desk.follow_case(ctx, opened(entity, email_of(ctx, ana), by=ana.user_id))
    await desk.follow_case(ctx, resolved(entity, T0 + timedelta(hours=2)))
    await desk.follow_case(
        ctx, opened(entity, email_of(ctx, ana), number="CCE-2026-000002", by=ana.user_id)
    )
    await desk.follow_case(ctx, opened(entity, email_of(ctx, mallory), number="CCE-2026-000003"))
    keep = timedelta(days=ctx.settings.account_cases_retention_days)
    await ctx.maintain(T0 + keep)  # not yet
    assert len(ctx.cases.documents) == 3
    await ctx.maintain(T0 + keep + timedelta(hours=3))
    assert sorted(ctx.cases.documents) == ["CCE-2026-000002"]  # open and the account's: kept


def assigned(account_id, agent, at, number="CCE-2026-000001"):
    payload = {
        "case_number": number,
        "assignee_id": agent.user_id,
        "assigned_by": agent.user_id,
        "assigned_at": at,
        "account_id": account_id,
    }
    return new_event(CaseAssigned, "support", payload)


async def readable(ctx, reader, account_id, doc_type) -> bool:
    try:
        await documents.open_document(ctx, reader, account_id, doc_type)
    except Refused:
        return False
    return True


async def test_only_the_agent_working_an_open_case_of_the_account_reads_its_documents(ctx, person):
    """Any support agent read every document of every entity under review, whatever case
    they worked: the role alone now opens nothing."""
    ana = person("Ana Admin")
    olga, pablo = person("Olga Agente", "support_agent"), person("Pablo Agente", "support_agent")
    mallory = person("Mallory Extraña")
    entity = await joinable_entity(ctx, ana)  # waiting for activation
    assert not await readable(ctx, olga, entity, "rut")  # the role alone, no case

    # A stranger's case naming the account, taken by the agent: not the account's case.
    number = "CCE-2026-000009"
    await desk.follow_case(ctx, opened(entity, "m@x.co", by=mallory.user_id, number=number))
    await desk.follow_case(ctx, assigned(entity, olga, T0 + timedelta(minutes=5), number))
    assert not await readable(ctx, olga, entity, "rut")

    # The entity's activation case: its assignment may arrive before its opening.
    await desk.follow_case(ctx, assigned(entity, olga, T0 + timedelta(minutes=5)))
    assert not await readable(ctx, olga, entity, "rut")  # not known to be the account's yet
    await desk.follow_case(ctx, opened(entity, "", origin="entity_submitted"))
    assert await readable(ctx, olga, entity, "rut")
    assert not await readable(ctx, pablo, entity, "rut")  # another agent
    # the library is no part of a case
    assert await documents.may_read(ctx, olga, await ctx.accounts.get(entity), "library") is None

    # A handover: the newest assignment wins, whatever order they arrive in.
    await desk.follow_case(ctx, assigned(entity, pablo, T0 + timedelta(minutes=30)))
    await desk.follow_case(ctx, assigned(entity, olga, T0 + timedelta(minutes=10)))
    assert await readable(ctx, pablo, entity, "rut")
    assert not await readable(ctx, olga, entity, "rut")

    # Resolved: nobody outside the account reads any more; reopened: the assignee again.
    await desk.follow_case(ctx, resolved(entity, T0 + timedelta(hours=2)))
    assert not await readable(ctx, pablo, entity, "rut")
    await desk.follow_case(ctx, reopened(entity, T0 + timedelta(hours=3)))
    assert await readable(ctx, pablo, entity, "rut")
    with pytest.raises(NotFound):  # read, but a document the entity does not hold
        await documents.open_document(ctx, pablo, entity, "delegation_act")

    reads = await ctx.document_reads.page(entity, 1, 50)
    assert {r["reader_id"] for r in reads[0]} == {str(pablo.user_id), str(olga.user_id)}
    assert {r["reader_as"] for r in reads[0]} == {"agent"}


async def test_the_agent_working_a_natural_persons_case_reads_their_id(ctx, person):
    beto, olga = person("Beto Persona"), person("Olga Agente", "support_agent")
    form = supplier_form("1020304050", organisation_type="natural_person")
    account = (await accounts.create_account(ctx, beto, form)).id
    await upload(ctx, beto, account, "identity_document")
    assert not await readable(ctx, olga, account, "identity_document")
    await desk.follow_case(ctx, opened(account, "b@x.co", by=beto.user_id))
    await desk.follow_case(ctx, assigned(account, olga, T0 + timedelta(minutes=1)))
    assert await readable(ctx, olga, account, "identity_document")


def activation_decided(account_id, decision, at, number="CCE-2026-000001"):
    payload = {
        "case_number": number,
        "account_id": account_id,
        "decision": decision,
        "message": "ok",
        "agent_id": uuid.uuid4(),
        "decided_at": at,
    }
    return new_event(AccountActivationDecided, "support", payload)


async def test_a_decision_that_closes_the_case_takes_it_off_the_desk_and_from_its_agent(
    ctx, person
):
    """Support resolves a case by approving or rejecting without a ``CaseResolved``: the
    activation case stayed open on the entity's desk, and readable to its agent, for good."""
    ana, olga = person("Ana Admin"), person("Olga Agente", "support_agent")
    entity = await joinable_entity(ctx, ana)
    await desk.choose_notices(ctx, ana, entity, ["access_requests", "case_updates"])
    await desk.follow_case(ctx, opened(entity, "", origin="entity_submitted"))
    await desk.follow_case(ctx, assigned(entity, olga, T0 + timedelta(minutes=1)))
    changes = activation_decided(entity, "request_changes", T0 + timedelta(hours=1))
    await desk.close_decided(ctx, changes)
    assert len((await desk.desk(ctx, ana, entity))["open_cases"]) == 1
    assert await readable(ctx, olga, entity, "rut")

    approval = activation_decided(entity, "approve", T0 + timedelta(hours=2))
    await desk.close_decided(ctx, approval)
    await desk.close_decided(ctx, approval)  # a redelivery changes nothing
    assert (await desk.desk(ctx, ana, entity))["open_cases"] == []
    assert not await readable(ctx, olga, entity, "rut")
    assert [e.payload.change for e in case_events(ctx)] == ["opened"]  # the decision is told


def submission_linked(account_id, at, number="CCE-2026-000001"):
    payload = {
        "case_number": number,
        "account_id": account_id,
        "request_type": "Activación de cuenta",
        "opened_at": T0,
        "linked_at": at,
    }
    return new_event(EntitySubmissionLinked, "support", payload)


@pytest.mark.parametrize("opened_naming", ["no account", "the account, signed out"])
async def test_a_web_case_the_submission_joined_is_the_accounts_and_its_agent_reads(
    ctx, person, opened_naming
):
    """An administrator opens the activation case on the web first; the entity's submission
    joins it. Membership had only a case naming no account (or one a stranger could have
    opened), so the agent working it could not read the documents it reviews."""
    ana, olga = person("Ana Admin"), person("Olga Agente", "support_agent")
    entity = await joinable_entity(ctx, ana)
    await desk.choose_notices(ctx, ana, entity, ["access_requests", "case_updates"])
    named = None if opened_naming == "no account" else entity
    await desk.follow_case(ctx, opened(named, email_of(ctx, ana)))
    await desk.follow_case(ctx, assigned(entity, olga, T0 + timedelta(minutes=1)))
    assert not await readable(ctx, olga, entity, "rut")
    linked = submission_linked(entity, T0 + timedelta(minutes=2))
    await desk.follow_case(ctx, linked)
    await desk.follow_case(ctx, linked)  # a redelivery
    assert await readable(ctx, olga, entity, "rut")
    [shown] = (await desk.desk(ctx, ana, entity))["open_cases"]
    assert shown["case_number"] == "CCE-2026-000001" and shown["request_type"]
    assert case_events(ctx) == []  # the submission is told, not the link
    await desk.follow_case(ctx, opened(named, email_of(ctx, ana)))  # the opening, late
    assert await readable(ctx, olga, entity, "rut") and case_events(ctx) == []
