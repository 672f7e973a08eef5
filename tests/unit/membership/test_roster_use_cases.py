"""Access requests and the administrators' decisions through the service layer over the
fakes: the whole state machine, the last-administrator rule under a race, mixed profiles."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from membership.domain.memberships import TransitionRefused
from membership.service_layer import accounts, lifecycle, memberships, queries
from secop_contracts.membership import AccessDecided, AccessRequested, MixedProfileChanged
from secop_contracts.support import MixedProfileDecided
from secop_runtime.errors import Conflict, DomainError, Invalid, NotFound, Refused

from tests.unit.membership.conftest import entity_form, supplier_form
from tests.unit.membership.test_account_use_cases import ready

pytestmark = pytest.mark.unit


async def joinable_entity(ctx, admin) -> str:
    entity = await ready(ctx, admin, entity_form("800300400"))
    await lifecycle.submit_account(ctx, admin, entity)
    return entity


async def test_an_access_request_goes_through_every_decision(ctx, person):
    ana, beto = person("Ana Admin"), person("Beto Buyer")
    draft = await accounts.create_account(ctx, ana, supplier_form("900500600"))
    with pytest.raises(Conflict, match="takes no access requests"):
        await memberships.request_access(ctx, beto, draft.id)
    entity = await joinable_entity(ctx, ana)
    uid = str(beto.user_id)

    async def act(action, who=ana, **body):
        _, membership = await memberships.decide(ctx, who, entity, uid, action, **body)
        return membership

    with pytest.raises(NotFound):
        await act("accept", roles=["buyer"])
    racing = await asyncio.gather(
        *(memberships.request_access(ctx, beto, entity) for _ in range(4)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in racing) == ["Conflict"] * 3 + ["dict"]
    with pytest.raises(Refused):
        await act("accept", who=beto, roles=["buyer"])
    with pytest.raises(TransitionRefused) as refused:
        await act("cancel")
    assert refused.value.extra == {"status": "pending"}

    assert (await act("reject", reason="no la conocemos")).status == "rejected"
    assert (await act("revert-rejection")).status == "pending"
    with pytest.raises(Invalid):
        await act("accept", roles=["supplier"])  # not a role of an entity
    assert (await act("accept", roles=["buyer"])).roles == ["buyer"]
    with pytest.raises(Conflict) as again:
        await memberships.request_access(ctx, beto, entity)
    assert again.value.extra == {"status": "accepted"}
    assert (await act("cancel")).status == "cancelled"
    await memberships.request_access(ctx, beto, entity)  # a new membership; history stays

    mine = await queries.my_memberships(ctx, beto)
    assert [m["status"] for m in mine] == ["pending", "cancelled"]
    requested = [e for e in ctx.accounts.events if isinstance(e, AccessRequested)]
    assert [str(a.user_id) for a in requested[0].payload.administrators] == [str(ana.user_id)]
    decided = [e.payload.decision for e in ctx.accounts.events if isinstance(e, AccessDecided)]
    assert decided == ["rejected", "reverted", "accepted", "cancelled"]


async def accepted_member(ctx, admin, entity, who, roles) -> None:
    await memberships.request_access(ctx, who, entity)
    await memberships.decide(ctx, admin, entity, str(who.user_id), "accept", roles=roles)


async def test_the_account_keeps_an_administrator_when_two_cancel_each_other(ctx, person):
    ana, beto = person("Ana"), person("Beto")
    entity = await joinable_entity(ctx, ana)
    with pytest.raises(Conflict, match="at least one administrator"):
        await memberships.decide(ctx, ana, entity, str(ana.user_id), "cancel")
    with pytest.raises(Conflict, match="at least one administrator"):
        await memberships.set_roles(ctx, ana, entity, str(ana.user_id), ["buyer"])
    await accepted_member(ctx, ana, entity, beto, ["administrator", "buyer"])

    # Both load the roster with two administrators before either saves.
    crossed = await asyncio.gather(
        memberships.decide(ctx, ana, entity, str(beto.user_id), "cancel"),
        memberships.decide(ctx, beto, entity, str(ana.user_id), "cancel"),
        return_exceptions=True,
    )

    assert sum(not isinstance(r, BaseException) for r in crossed) == 1
    assert all(isinstance(r, DomainError) for r in crossed if isinstance(r, BaseException))
    assert len((await ctx.accounts.get(entity)).administrators) == 1


async def test_the_desk_enables_a_mixed_profile_only_for_an_administrators_case(ctx, person):
    ana, eve, caro = person("Ana"), person("Eve"), person("Caro")
    entity = await joinable_entity(ctx, ana)
    account = await ctx.accounts.get(entity)
    emails = {p: (await ctx.users.get(p.user_id))["email"] for p in (ana, eve)}

    def case(who, decision="approve") -> MixedProfileDecided:
        return MixedProfileDecided(
            producer="support",
            payload={
                "case_number": f"CASE-{decision}-{emails[who]}",
                "account_id": account.id,
                "decision": decision,
                "agent_id": uuid.uuid4(),
                "requester": {"full_name": "x", "email": emails[who].upper()},
                "decided_at": datetime.now(UTC),
            },
        )

    await memberships.request_access(ctx, caro, entity)
    with pytest.raises(Invalid):
        await memberships.decide(ctx, ana, entity, str(caro.user_id), "accept", roles=["supplier"])
    await lifecycle.apply_mixed_profile(ctx, case(eve))  # not a member of the account
    assert not (await ctx.accounts.get(entity)).mixed_profile
    await lifecycle.apply_mixed_profile(ctx, case(ana))
    await lifecycle.apply_mixed_profile(ctx, case(ana))  # a redelivery changes nothing
    await lifecycle.apply_mixed_profile(ctx, case(eve, "reject"))  # switches nothing off

    assert (await ctx.accounts.get(entity)).mixed_profile
    changed = [e for e in ctx.accounts.events if isinstance(e, MixedProfileChanged)]
    assert [e.payload.case_number for e in changed] == [f"CASE-approve-{emails[ana]}"]
    _, caro_in = await memberships.decide(
        ctx, ana, entity, str(caro.user_id), "accept", roles=["supplier"]
    )
    assert caro_in.roles == ["supplier"]


async def test_a_burst_of_access_requests_to_one_account_all_land(ctx, person):
    """Every request is an entry of the account's roster, so they race on its version: each
    loser decides again after a growing random wait instead of answering 409."""
    ana = person("Ana Admin")
    entity = await joinable_entity(ctx, ana)
    askers = [person(f"Persona {n}") for n in range(20)]
    answers = await asyncio.gather(
        *(memberships.request_access(ctx, who, entity) for who in askers),
        return_exceptions=True,
    )
    assert [type(a).__name__ for a in answers] == ["dict"] * 20
    roster = await ctx.accounts.get(entity)
    assert roster is not None
    pending = {m.user_id for m in roster.members if m.status == "pending"}
    assert pending == {str(who.user_id) for who in askers}
