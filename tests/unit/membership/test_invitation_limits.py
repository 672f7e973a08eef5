"""Invitations cannot be turned into a spam cannon, a phishing form or an ever-growing
document: only an active account invites, each account has a daily budget of invitation
emails, an invitation is sent a bounded number of times, an address receives a bounded number
a day from all accounts together, the account keeps a bounded number of invitations and drops
closed ones after their retention (also in the maintenance pass), the invitee's name is a
name, and a rejected account's pending invitations close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from membership.domain.invitation_book import new_invitation
from membership.domain.invitations import InvitationRefused, invitee_name, issue_token
from membership.service_layer import invitations, lifecycle
from notification.domain.plans import plan
from secop_contracts.membership import InvitationRevoked, MemberInvited
from secop_runtime.errors import Conflict, Invalid, Throttled
from secop_runtime.sealing import generate_keypair, open_sealed

from tests.unit.membership.conftest import People, fake_context, supplier_form
from tests.unit.membership.test_account_use_cases import desk, ready
from tests.unit.membership.test_invitations import active_entity, email_of
from tests.unit.membership.test_roster_use_cases import joinable_entity

pytestmark = pytest.mark.unit

PRIVATE, PUBLIC = generate_keypair()
DAY = timedelta(days=1)


def context(**settings):
    return fake_context(
        notification_seal_public_key=PUBLIC, invitation_resend_interval_s=0, **settings
    )


def events_of(ctx, kind):
    return [e for e in ctx.accounts.events if isinstance(e, kind)]


class Clock:
    """The service layer's clock, moved by the test."""

    def __init__(self, monkeypatch) -> None:
        self.at = datetime.now(UTC)
        monkeypatch.setattr(invitations, "now", lambda: self.at)

    def advance(self, by: timedelta) -> None:
        self.at += by


async def active_supplier(ctx, admin, nit: str) -> str:
    """A supplier: active as soon as it is submitted."""
    supplier = await ready(ctx, admin, supplier_form(nit))
    await lifecycle.submit_account(ctx, admin, supplier)
    return supplier


async def invite(ctx, admin, account, email="carla@example.co", name="Carla Ruiz"):
    kind = ctx.accounts.documents[account]["kind"]
    roles = ["buyer"] if kind == "entity" else ["supplier"]
    return (await invitations.invite(ctx, admin, account, name, email, roles))["invitation_id"]


async def test_only_an_active_account_invites():
    ctx = context()
    ana = People(ctx)("Ana")
    entity = await joinable_entity(ctx, ana)  # submitted: waiting for the service desk

    with pytest.raises(Conflict, match="only an active account invites") as waiting:
        await invite(ctx, ana, entity)
    assert "pending_activation" in waiting.value.message and events_of(ctx, MemberInvited) == []
    await lifecycle.apply_activation_decision(ctx, desk(entity, "approve"))
    assert await invite(ctx, ana, entity)  # vetted by the desk: it may invite now


async def test_an_account_sends_at_most_its_daily_budget_of_invitation_emails(monkeypatch):
    ctx = context(invitation_emails_per_day=5)
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    clock = Clock(monkeypatch)
    for n in range(2):  # invite and revoke: two emails a round
        one = await invite(ctx, ana, entity, f"x{n}@example.co")
        clock.advance(timedelta(minutes=1))
        await invitations.revoke(ctx, ana, entity, one)
    last = await invite(ctx, ana, entity, "x8@example.co")  # the fifth email
    clock.advance(timedelta(hours=1))

    with pytest.raises(Throttled, match="5 invitation emails in the last 24 hours") as spent:
        await invite(ctx, ana, entity, "x9@example.co")
    assert spent.value.status == 429
    # free again 24 hours after the first of them
    assert int(spent.value.headers["Retry-After"]) == 24 * 3600 - 3600 - 2 * 60
    with pytest.raises(Throttled):
        await invitations.resend(ctx, ana, entity, last)
    # revoking is never refused; past the budget the invitee is not emailed about it
    await invitations.revoke(ctx, ana, entity, last)
    *_, silent = events_of(ctx, InvitationRevoked)
    assert silent.payload.notify_invitee is False and plan(silent) == []
    assert len(events_of(ctx, MemberInvited)) == 3
    assert len(ctx.accounts.documents[entity]["invitation_emails"]) == 5  # bounded by the budget

    clock.advance(DAY)
    assert await invite(ctx, ana, entity, "x9@example.co")


async def test_one_invitation_is_sent_at_most_invitation_max_sends_times(monkeypatch):
    ctx = context(invitation_max_sends=3)
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    Clock(monkeypatch)
    one = await invite(ctx, ana, entity)
    for _ in range(2):
        await invitations.resend(ctx, ana, entity, one)

    with pytest.raises(Conflict, match="create a new invitation after revoking") as most:
        await invitations.resend(ctx, ana, entity, one)
    assert most.value.status == 409 and most.value.extra == {"sends": 3}
    assert len(events_of(ctx, MemberInvited)) == 3
    await invitations.revoke(ctx, ana, entity, one)
    assert await invite(ctx, ana, entity)  # a new invitation to the address, as it says


async def test_an_address_receives_a_bounded_number_of_invitation_emails_a_day_from_all_accounts(
    monkeypatch,
):
    ctx = context(invitation_emails_per_address_per_day=3)
    people = People(ctx)
    ana, bea, caro = people("Ana"), people("Bea"), people("Caro")
    first = await active_entity(ctx, ana)
    second = await active_supplier(ctx, bea, "900700800")
    supplier = await active_supplier(ctx, caro, "900700801")
    clock = Clock(monkeypatch)
    one = await invite(ctx, ana, first, "Dora@Example.co")
    await invitations.resend(ctx, ana, first, one)
    await invite(ctx, bea, second, "dora@example.co")  # the third email today

    with pytest.raises(Throttled, match="try again tomorrow") as busy:
        await invite(ctx, caro, supplier, " DORA@example.co")
    assert busy.value.status == 429 and int(busy.value.headers["Retry-After"]) <= 24 * 3600
    with pytest.raises(Throttled, match="try again tomorrow"):
        await invitations.resend(ctx, ana, first, one)
    await invitations.revoke(ctx, ana, first, one)  # revoked, but not one more email to Dora
    (revoked,) = events_of(ctx, InvitationRevoked)
    assert revoked.payload.notify_invitee is False
    assert len(events_of(ctx, MemberInvited)) == 3
    assert "dora" not in str(ctx.recipients.counts).lower()  # counted by a hash of the address

    clock.advance(DAY)
    assert await invite(ctx, caro, supplier, "dora@example.co")


async def test_a_refused_invitation_costs_the_address_nothing():
    ctx = context(invitation_emails_per_address_per_day=1)
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    with pytest.raises(Invalid):
        await invitations.invite(ctx, ana, entity, "Dora", "dora@example.co", ["supplier"])
    with pytest.raises(Invalid):
        await invitations.invite(ctx, ana, entity, "Dora 2", "dora@example.co", ["buyer"])
    assert await invite(ctx, ana, entity, "dora@example.co")


async def test_the_account_keeps_a_bounded_number_of_closed_invitations(monkeypatch):
    ctx = context(max_closed_invitations=3, invitation_emails_per_day=1000)
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    clock = Clock(monkeypatch)
    ids = []
    for n in range(8):  # invite and revoke, again and again, all within the retention
        ids.append(await invite(ctx, ana, entity, f"x{n}@example.co"))
        clock.advance(timedelta(seconds=1))
        await invitations.revoke(ctx, ana, entity, ids[-1])
    pending = await invite(ctx, ana, entity, "y@example.co")

    kept = [i["invitation_id"] for i in ctx.accounts.documents[entity]["invitations"]]
    assert kept == [*ids[-3:], pending]  # the oldest closed ones went first


async def test_closed_invitations_go_after_their_retention_in_the_maintenance_pass(
    monkeypatch,
):
    ctx = context(invitations_closed_retention_days=2)
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    other = await active_supplier(ctx, People(ctx)("Bea"), "900700802")
    clock = Clock(monkeypatch)
    revoked = await invite(ctx, ana, entity, "x@example.co")
    await invitations.revoke(ctx, ana, entity, revoked)
    lapsing = await invite(ctx, ana, entity, "y@example.co")  # expires in 7 days, unseen
    version = ctx.accounts.documents[other]["_v"]

    await ctx.maintain(clock.at + timedelta(days=1))
    assert len(ctx.accounts.documents[entity]["invitations"]) == 2  # within the retention
    await ctx.maintain(clock.at + timedelta(days=2, seconds=1))
    held = ctx.accounts.documents[entity]["invitations"]
    assert [i["invitation_id"] for i in held] == [lapsing]  # no invitation action ran
    await ctx.maintain(clock.at + timedelta(days=9, seconds=2))  # expired 2 days ago
    assert ctx.accounts.documents[entity]["invitations"] == []
    assert ctx.accounts.documents[other]["_v"] == version  # nothing to drop: not written


@pytest.mark.parametrize(
    "name",
    [
        "Carla\nVisite http://secop-soporte.example/login",
        "Carla Ruiz https://evil.example",
        "soporte@secop.example",
        "Carla Ruiz 3001234567",
        "Carla\u202eziuR",  # a right-to-left override
        "Carla\tRuiz",
        "<b>Carla</b>",
        "C",
        "-.",
        "Carla " + "Ruiz" * 30,
    ],
)
async def test_an_invitees_name_that_is_not_a_name_is_refused(name):
    ctx = context()
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    with pytest.raises(Invalid) as bad:
        await invitations.invite(ctx, ana, entity, name, "carla@example.co", ["buyer"])
    assert bad.value.status == 422 and bad.value.field == "name"
    assert "only letters, spaces and . ' -" in bad.value.message
    assert events_of(ctx, MemberInvited) == []


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("  José  Ñúñez  ", "José Ñúñez"),
        ("Zoë O'Brien-Smith", "Zoë O'Brien-Smith"),
        ("Ma. Fernanda Díaz", "Ma. Fernanda Díaz"),
        ("Jose\u0301 Pe\u0301rez", "José Pérez"),  # decomposed accents, composed
        ("Мария Иванова", "Мария Иванова"),
        ("김민준", "김민준"),
    ],
)
def test_names_of_any_script_with_accents_are_names(raw, kept):
    assert invitee_name(raw) == kept


async def test_a_rejected_accounts_pending_invitations_close_and_each_invitee_is_told():
    """Invitations made while an entity waited for the desk (before only active accounts
    invited) close when the desk rejects it."""
    ctx = context()
    people = People(ctx)
    ana, carla = people("Ana"), people("Carla")
    entity = await joinable_entity(ctx, ana)
    at = datetime.now(UTC)
    tokens = {}
    for n, email in enumerate((email_of(ctx, carla), "dora@example.co")):
        invitation_id = f"00000000-0000-4000-8000-00000000000{n}"
        token = issue_token(entity, invitation_id)
        tokens[email] = token.plain
        made = new_invitation(
            invitation_id, "Xavier", email, email, ["buyer"], str(ana.user_id), token.hash, at, DAY
        )
        ctx.accounts.documents[entity]["invitations"].append(made.model_dump())
    decision = desk(entity, "reject")

    await lifecycle.apply_activation_decision(ctx, decision)
    await lifecycle.apply_activation_decision(ctx, decision)  # redelivered: nothing more

    closed = events_of(ctx, InvitationRevoked)
    assert sorted(e.payload.email for e in closed) == sorted(tokens)
    assert {(e.payload.reason, e.payload.revoked_by) for e in closed} == {
        ("account_rejected", decision.payload.agent_id)
    }
    assert all(e.payload.notify_invitee for e in closed)
    (spec,) = plan(closed[0])
    assert spec.context["reason"] == "account_rejected"
    stored = ctx.accounts.documents[entity]["invitations"]
    assert {i["state"] for i in stored} == {"void"}
    with pytest.raises(InvitationRefused, match="no longer valid"):
        await invitations.accept(ctx, carla, tokens[email_of(ctx, carla)])


async def test_an_invitation_carries_the_name_trimmed_and_its_link_opens():
    ctx = context()
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    await invitations.invite(ctx, ana, entity, "  María  José ", "mj@example.co", ["buyer"])
    (event,) = events_of(ctx, MemberInvited)
    assert event.payload.name == "María José"
    assert open_sealed(PRIVATE, event.payload.sealed_invitation_token).startswith(entity)
