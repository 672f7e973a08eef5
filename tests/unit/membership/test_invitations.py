"""Invitations ("Crear usuarios") through the service layer over the fakes: who may invite,
one live invitation per address and none to a member, the newest link alone works, revocation,
expiry, the invited address, and acceptance as a member with the invited roles, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from membership.domain.invitation_book import new_invitation
from membership.domain.invitations import (
    ACCEPTED,
    EXPIRED,
    VOID,
    InvitationExpired,
    InvitationRefused,
    InvitationRules,
    email_key,
    issue_token,
    token_names,
)
from membership.service_layer import accounts, invitations, lifecycle, memberships, queries
from secop_contracts.membership import (
    AccessDecided,
    InvitationAccepted,
    InvitationRevoked,
    MemberInvited,
)
from secop_runtime.errors import Conflict, Invalid, NotFound, Refused, Throttled, Unavailable
from secop_runtime.sealing import generate_keypair, open_sealed

from tests.unit.membership.conftest import People, fake_context, supplier_form
from tests.unit.membership.test_account_use_cases import desk
from tests.unit.membership.test_roster_use_cases import accepted_member, joinable_entity

pytestmark = pytest.mark.unit

PRIVATE, PUBLIC = generate_keypair()


@pytest.fixture
def ctx():
    return fake_context(notification_seal_public_key=PUBLIC)


async def active_entity(ctx, admin) -> str:
    """An entity the service desk has activated: only an active account invites."""
    entity = await joinable_entity(ctx, admin)
    await lifecycle.apply_activation_decision(ctx, desk(entity, "approve"))
    return entity


def email_of(ctx, principal) -> str:
    return ctx.users.views[str(principal.user_id)]["email"]


def sent(ctx) -> list[MemberInvited]:
    return [e for e in ctx.accounts.events if isinstance(e, MemberInvited)]


def link_of(event: MemberInvited) -> str:
    return open_sealed(PRIVATE, event.payload.sealed_invitation_token)


async def invite(ctx, admin, account, name="Carla Ruiz", email="carla@example.co", roles=None):
    created = await invitations.invite(ctx, admin, account, name, email, roles or ["buyer"])
    return created, link_of(sent(ctx)[-1])


async def test_an_administrator_invites_and_the_link_travels_only_sealed(ctx, person):
    ana = person("Ana Admin")
    entity = await active_entity(ctx, ana)

    created, token = await invite(ctx, ana, entity, roles=["buyer", "administrator"])

    assert created["state"] == "pending" and created["roles"] == ["administrator", "buyer"]
    assert created["expires_at"] - created["sent_at"] == timedelta(days=7)
    assert token_names(token) == (entity, created["invitation_id"])
    (event,) = sent(ctx)
    assert event.payload.email == "carla@example.co" and event.payload.name == "Carla Ruiz"
    assert event.payload.inviter_name == "Ana Admin" and not event.payload.resent
    assert token not in event.model_dump_json()  # only sealed
    stored = str(ctx.accounts.documents[entity])
    assert token not in stored and email_key("carla@example.co") in stored
    listed = await invitations.pending(ctx, ana, entity)
    assert [i["invitation_id"] for i in listed] == [created["invitation_id"]]
    assert "token" not in str(listed) and "hash" not in str(listed)
    form = await queries.account_for_member(ctx, ana, entity)
    assert "invitations" not in form


async def test_only_the_accounts_administrators_invite_list_resend_and_revoke(ctx, person):
    ana, beto, caro = person("Ana"), person("Beto"), person("Caro")
    entity = await active_entity(ctx, ana)
    await accepted_member(ctx, ana, entity, beto, ["buyer"])
    created, _ = await invite(ctx, ana, entity)
    one = created["invitation_id"]

    for who in (beto, caro):  # a buyer of the account, a stranger
        with pytest.raises(Refused):
            await invitations.invite(ctx, who, entity, "Xavier", "x@example.co", ["buyer"])
        with pytest.raises(Refused):
            await invitations.pending(ctx, who, entity)
        with pytest.raises(Refused):
            await invitations.resend(ctx, who, entity, one)
        with pytest.raises(Refused):
            await invitations.revoke(ctx, who, entity, one)
    with pytest.raises(Invalid):
        await invitations.invite(ctx, ana, entity, "Xavier", "x@example.co", ["supplier"])
    with pytest.raises(NotFound):
        await invitations.resend(ctx, ana, entity, str(uuid.uuid4()))
    with pytest.raises(NotFound):
        await invitations.revoke(ctx, ana, entity, str(uuid.uuid4()))
    draft = await accounts.create_account(ctx, ana, supplier_form("900700800"))
    with pytest.raises(Conflict, match="only an active account invites"):
        await invitations.invite(ctx, ana, draft.id, "Xavier", "x@example.co", ["supplier"])


async def test_an_address_of_a_member_or_of_a_live_invitation_is_refused(ctx, person):
    ana, beto, dora = person("Ana"), person("Beto"), person("Dora")
    entity = await active_entity(ctx, ana)
    await accepted_member(ctx, ana, entity, beto, ["buyer"])
    await memberships.request_access(ctx, dora, entity)

    with pytest.raises(Conflict) as member:
        await invitations.invite(ctx, ana, entity, "Beto", email_of(ctx, beto).upper(), ["buyer"])
    assert member.value.extra == {"status": "accepted"}
    with pytest.raises(Conflict, match="accept their access request") as waiting:
        await invitations.invite(ctx, ana, entity, "Dora", email_of(ctx, dora), ["buyer"])
    assert waiting.value.extra == {"status": "pending"}

    created, _ = await invite(ctx, ana, entity)
    with pytest.raises(Conflict, match="send it again") as twice:
        await invitations.invite(ctx, ana, entity, "Carla R.", " Carla@Example.CO", ["buyer"])
    assert twice.value.extra == {"invitation_id": created["invitation_id"]}
    await invitations.revoke(ctx, ana, entity, created["invitation_id"])
    again, _ = await invite(ctx, ana, entity)  # revoked: the address is free again
    assert again["invitation_id"] != created["invitation_id"]


async def test_two_administrators_inviting_one_address_at_once_leave_one_invitation(ctx, person):
    ana, beto = person("Ana"), person("Beto")
    entity = await active_entity(ctx, ana)
    await accepted_member(ctx, ana, entity, beto, ["administrator"])

    racing = await asyncio.gather(
        *(
            invitations.invite(ctx, who, entity, "Carla", "carla@example.co", ["buyer"])
            for who in (ana, beto, ana, beto)
        ),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in racing) == ["Conflict"] * 3 + ["dict"]
    assert len(await invitations.pending(ctx, ana, entity)) == 1 and len(sent(ctx)) == 1


async def test_a_resend_makes_a_new_link_and_the_older_one_stops_working(ctx, person, monkeypatch):
    ana = person("Ana")
    carla = person("Carla Ruiz")
    entity = await active_entity(ctx, ana)
    created, old = await invite(ctx, ana, entity, email=email_of(ctx, carla))
    one = created["invitation_id"]
    with pytest.raises(Throttled) as soon:
        await invitations.resend(ctx, ana, entity, one)
    assert 0 < soon.value.retry_after_s <= 60 and soon.value.headers == {"Retry-After": "60"}

    later = datetime.now(UTC) + timedelta(minutes=2)
    monkeypatch.setattr(invitations, "now", lambda: later)
    again = await invitations.resend(ctx, ana, entity, one)

    assert again["sends"] == 2 and again["expires_at"] == later + timedelta(days=7)
    new = link_of(sent(ctx)[-1])
    assert sent(ctx)[-1].payload.resent and new != old
    with pytest.raises(InvitationRefused) as superseded:
        await invitations.accept(ctx, carla, old)
    assert superseded.value.status == 400 and superseded.value.extra == {"reason": "unknown"}
    joined = await invitations.accept(ctx, carla, new)
    assert joined["status"] == "accepted" and joined["roles"] == ["buyer"]


async def test_a_revoked_invitation_cannot_be_accepted_nor_revoked_again(ctx, person):
    ana, carla = person("Ana"), person("Carla")
    entity = await active_entity(ctx, ana)
    created, token = await invite(ctx, ana, entity, email=email_of(ctx, carla))

    await invitations.revoke(ctx, ana, entity, created["invitation_id"])

    (revoked,) = [e for e in ctx.accounts.events if isinstance(e, InvitationRevoked)]
    assert revoked.payload.email == email_of(ctx, carla)
    assert str(revoked.payload.revoked_by) == str(ana.user_id)
    assert await invitations.pending(ctx, ana, entity) == []
    with pytest.raises(InvitationRefused) as refused:
        await invitations.accept(ctx, carla, token)
    assert refused.value.extra == {"reason": "revoked"}
    with pytest.raises(Conflict, match="only a pending one"):
        await invitations.revoke(ctx, ana, entity, created["invitation_id"])
    with pytest.raises(Conflict, match="revoked"):
        await invitations.resend(ctx, ana, entity, created["invitation_id"])


async def test_an_expired_invitation_answers_gone_until_it_is_sent_again(ctx, person, monkeypatch):
    ana, carla = person("Ana"), person("Carla")
    entity = await active_entity(ctx, ana)
    created, token = await invite(ctx, ana, entity, email=email_of(ctx, carla))
    later = datetime.now(UTC) + timedelta(days=7, seconds=1)
    monkeypatch.setattr(invitations, "now", lambda: later)

    with pytest.raises(InvitationExpired) as gone:
        await invitations.accept(ctx, carla, token)
    assert gone.value.status == 410 and gone.value.extra == {"reason": "expired"}
    assert await invitations.pending(ctx, ana, entity) == []  # expired is not pending
    again = await invitations.resend(ctx, ana, entity, created["invitation_id"])
    assert again["state"] == "pending"
    joined = await invitations.accept(ctx, carla, link_of(sent(ctx)[-1]))
    assert joined["status"] == "accepted"


async def test_only_the_invited_address_accepts(ctx, person):
    ana, carla, mallory = person("Ana"), person("Carla"), person("Mallory")
    entity = await active_entity(ctx, ana)
    _, token = await invite(ctx, ana, entity, email=email_of(ctx, carla).upper())

    with pytest.raises(Refused, match="sent to another address"):
        await invitations.accept(ctx, mallory, token)
    elsewhere = issue_token(str(uuid.uuid4()), token_names(token)[1]).plain  # no such account
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for garbage in ("", "x", f"{entity}.nope.abc", token + "\ud800", elsewhere, tampered):
        with pytest.raises(InvitationRefused, match="not valid"):
            await invitations.accept(ctx, carla, garbage)
    assert (await invitations.accept(ctx, carla, token))["status"] == "accepted"  # any case


async def test_accepting_makes_a_member_with_the_invited_roles_once(ctx, person):
    ana, carla = person("Ana Admin"), person("Carla Ruiz")
    entity = await active_entity(ctx, ana)
    created, token = await invite(
        ctx, ana, entity, email=email_of(ctx, carla), roles=["administrator", "buyer"]
    )

    racing = await asyncio.gather(
        *(invitations.accept(ctx, carla, token) for _ in range(3)), return_exceptions=True
    )

    joined = next(r for r in racing if isinstance(r, dict))
    assert joined["roles"] == ["administrator", "buyer"] and joined["account_id"] == entity
    used = [r for r in racing if isinstance(r, InvitationRefused)]
    assert len(used) == 2 and all(u.extra == {"reason": "used"} for u in used)
    rows = await queries.members(ctx, ana, entity, "accepted")
    assert {r["email"]: r["roles"] for r in rows}[email_of(ctx, carla)] == [
        "administrator",
        "buyer",
    ]
    (accepted,) = [e for e in ctx.accounts.events if isinstance(e, InvitationAccepted)]
    assert str(accepted.payload.user.user_id) == str(carla.user_id)
    assert str(accepted.payload.membership_id) == joined["membership_id"]
    assert str(accepted.payload.invited_by) == str(ana.user_id)
    assert not [e for e in ctx.accounts.events if isinstance(e, AccessDecided)]
    assert await invitations.pending(ctx, ana, entity) == []
    stored = ctx.accounts.documents[entity]["invitations"][0]
    assert stored["state"] == ACCEPTED and stored["membership_id"] == joined["membership_id"]
    mine = await queries.my_memberships(ctx, carla)
    assert [(m["account_id"], m["status"]) for m in mine] == [(entity, "accepted")]
    # a member of the account (now): inviting the address again is refused
    with pytest.raises(Conflict, match="belongs to a member"):
        await invitations.invite(ctx, ana, entity, "Carla", email_of(ctx, carla), ["buyer"])
    assert created["invitation_id"] == stored["invitation_id"]


async def test_a_member_already_gets_409_and_a_waiting_request_is_decided(ctx, person):
    ana, beto, dora = person("Ana"), person("Beto"), person("Dora")
    entity = await active_entity(ctx, ana)
    _, for_beto = await invite(ctx, ana, entity, "Beto", email_of(ctx, beto))
    _, for_dora = await invite(ctx, ana, entity, "Dora", email_of(ctx, dora), ["administrator"])
    await accepted_member(ctx, ana, entity, beto, ["buyer"])  # joined by request meanwhile
    await memberships.request_access(ctx, dora, entity)  # asked meanwhile

    with pytest.raises(Conflict, match="already a member") as member:
        await invitations.accept(ctx, beto, for_beto)
    assert member.value.extra == {"status": "accepted"}
    # the invitation is closed with that answer: no longer listed as pending
    assert [i["name"] for i in await invitations.pending(ctx, ana, entity)] == ["Dora"]
    with pytest.raises(InvitationRefused, match="no longer valid"):
        await invitations.accept(ctx, beto, for_beto)
    joined = await invitations.accept(ctx, dora, for_dora)

    assert joined["roles"] == ["administrator"]
    decided = [e.payload for e in ctx.accounts.events if isinstance(e, AccessDecided)]
    assert [(str(d.user.user_id), d.decision) for d in decided][-1] == (
        str(dora.user_id),
        "accepted",
    )
    assert str(decided[-1].membership_id) == joined["membership_id"]
    assert str(decided[-1].decided_by) == str(ana.user_id)


async def test_an_invitation_from_an_administrator_since_removed_is_void_and_says_only_that(
    ctx, person
):
    ana, beto, carla = person("Ana"), person("Beto"), person("Carla")
    entity = await active_entity(ctx, ana)
    await accepted_member(ctx, ana, entity, beto, ["administrator", "buyer"])
    created, token = await invite(ctx, beto, entity, email=email_of(ctx, carla))
    await memberships.decide(ctx, ana, entity, str(beto.user_id), "cancel")

    for _ in range(2):  # the first answer and any later one say the same, and nothing more
        with pytest.raises(InvitationRefused) as void:
            await invitations.accept(ctx, carla, token)
        assert void.value.status == 400 and void.value.extra == {"reason": "no_longer_valid"}
        assert void.value.message == (
            "this invitation is no longer valid: ask the account's administrators for a new one"
        )
        assert "administer" not in void.value.message.replace("administrators", "")
    assert await invitations.pending(ctx, ana, entity) == []  # closed, not listed as pending
    (stored,) = ctx.accounts.documents[entity]["invitations"]
    assert (stored["invitation_id"], stored["state"]) == (created["invitation_id"], VOID)
    assert await queries.my_memberships(ctx, carla) == []


async def test_pending_invitations_are_bounded_per_account():
    ctx = fake_context(notification_seal_public_key=PUBLIC, max_pending_invitations=2)
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    for n in range(2):
        await invitations.invite(ctx, ana, entity, "Xavier", f"x{n}@example.co", ["buyer"])
    with pytest.raises(Conflict, match="2 pending invitations"):
        await invitations.invite(ctx, ana, entity, "Xavier", "x9@example.co", ["buyer"])


async def test_without_notifications_key_invitations_are_unavailable():
    ctx = fake_context()
    ana = People(ctx)("Ana")
    entity = await active_entity(ctx, ana)
    with pytest.raises(Unavailable, match="NOTIFICATION_SEAL_PUBLIC_KEY") as unavailable:
        await invitations.invite(ctx, ana, entity, "Xavier", "x@example.co", ["buyer"])
    assert unavailable.value.status == 503 and "Retry-After" in (unavailable.value.headers or {})
    assert sent(ctx) == [] and ctx.accounts.documents[entity]["invitations"] == []


def test_tokens_name_their_account_and_invitation_and_are_stored_as_hashes():
    token = issue_token(
        "8d2bb3b4-52a4-4b5c-9a4e-6f6f5b6e8c41", "1f0c2a7e-0c79-4f2e-8a55-d1a1c2b3c4d5"
    )
    account_id, invitation_id, secret = token.plain.split(".")
    assert (account_id, invitation_id) == token_names(token.plain)
    assert len(secret) == 43 and token.hash != token.plain and len(token.hash) == 64
    assert token_names("a.b.c") is None and token_names(token.plain + ".x") is None


def test_settling_records_expiry_and_forgets_what_closed_a_month_ago():
    from membership.domain.accounts import Account

    at = datetime(2026, 3, 1, tzinfo=UTC)
    form = {"legal_name": "ALCALDIA DE BELLO", "nit": "800100200"}
    account = Account.start("acc", "entity", form, "founder", at)
    account.invitations = [
        new_invitation(str(n), "Xia", f"x{n}@e.co", f"x{n}@e.co", ["buyer"], "founder", "h", at, d)
        for n, d in enumerate((timedelta(days=1), timedelta(days=40)))
    ]
    rules = InvitationRules()
    account.settle(at + timedelta(days=2), rules)
    assert [i.state_at(at + timedelta(days=2)) for i in account.invitations] == [
        EXPIRED,
        "pending",
    ]
    assert account.invitations[0].closed_at == at + timedelta(days=1)
    account.settle(at + timedelta(days=31, seconds=1), rules)
    assert [i.invitation_id for i in account.invitations] == ["1"]
