"""Access requests: the whole state machine, the last-administrator rule, "Mis registros"."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.membership.conftest import (
    new_nit,
    outbox_drained,
    ready_account,
    supplier_form,
)
from tests.support.kafka import json_values, read_topic
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
ACTIONS = ("accept", "reject", "cancel", "revert-rejection")


async def test_the_access_request_state_machine_and_the_last_administrator_rule(
    start_service, registry, infra
):
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana Admin")
    beto = await registry.person(svc, "Beto Buyer")
    account = await ready_account(svc, ana, "entity")  # pending activation: joinable
    base = f"/accounts/{account}"

    async def act(action: str, who=ana, user=beto, **body):
        url = f"{base}/members/{user.user_id}/{action}"
        return await svc.client.post(url, json=body or None, headers=who.headers)

    async def illegal(*allowed: str) -> dict[str, int]:
        bodies = {"accept": {"roles": ["buyer"]}, "reject": {"reason": "x"}}
        return {
            a: (await act(a, **bodies.get(a, {}))).status_code for a in ACTIONS if a not in allowed
        }

    draft = (
        await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    ).json()["account_id"]
    assert (
        await svc.client.post(f"/accounts/{draft}/access-requests", headers=beto.headers)
    ).status_code == 409
    assert (await act("accept", roles=["buyer"])).status_code == 404  # no request yet

    racing = await asyncio.gather(
        *(svc.client.post(f"{base}/access-requests", headers=beto.headers) for _ in range(4))
    )
    assert sorted(r.status_code for r in racing) == [201, 409, 409, 409]
    assert next(r for r in racing if r.status_code == 201).json()["status"] == "pending"

    # pending
    assert (await act("accept", who=beto, roles=["buyer"])).status_code == 403
    assert (await svc.client.get(f"{base}/members", headers=beto.headers)).status_code == 403
    assert await illegal("accept", "reject") == {"cancel": 409, "revert-rejection": 409}
    pending = (await svc.client.get(f"{base}/members?status=pending", headers=ana.headers)).json()
    assert [(m["full_name"], m["email"]) for m in pending] == [("Beto Buyer", beto.email)]

    rejected = await act("reject", reason="no la conocemos")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert await illegal("revert-rejection") == {"accept": 409, "reject": 409, "cancel": 409}
    assert (await act("revert-rejection")).json()["status"] == "pending"
    assert (await act("accept", roles=["supplier"])).status_code == 422  # not an entity role
    accepted = await act("accept", roles=["buyer"])
    assert accepted.status_code == 200 and accepted.json()["roles"] == ["buyer"]
    assert await illegal("cancel") == {"accept": 409, "reject": 409, "revert-rejection": 409}
    again = await svc.client.post(f"{base}/access-requests", headers=beto.headers)
    assert again.status_code == 409 and again.json()["status"] == "accepted"

    # the last administrator
    assert (await act("cancel", user=ana)).status_code == 409
    demote = await svc.client.put(
        f"{base}/members/{ana.user_id}/roles", json={"roles": ["buyer"]}, headers=ana.headers
    )
    assert demote.status_code == 409 and "at least one administrator" in demote.json()["detail"]
    promoted = await svc.client.put(
        f"{base}/members/{beto.user_id}/roles",
        json={"roles": ["administrator", "buyer"]},
        headers=ana.headers,
    )
    assert promoted.status_code == 200
    # Two administrators cancelling each other at once: one of them must stay.
    crossed = await asyncio.gather(
        act("cancel", who=ana, user=beto), act("cancel", who=beto, user=ana)
    )
    assert sorted(r.status_code for r in crossed)[0] == 200
    admins = [
        m
        for m in (
            await svc.client.get(
                f"{base}/members?status=accepted",
                headers=(ana if crossed[0].status_code == 200 else beto).headers,
            )
        ).json()
        if "administrator" in m["roles"]
    ]
    assert len(admins) == 1
    survivor = ana if admins[0]["user_id"] == str(ana.user_id) else beto
    gone = beto if survivor is ana else ana
    assert (await act("cancel", who=survivor, user=survivor)).status_code == 409

    # cancelled: every action is illegal; a new request starts a new membership
    async def as_survivor(action: str, **body):
        return (await act(action, who=survivor, user=gone, **body)).status_code

    assert [
        await as_survivor("accept", roles=["buyer"]),
        await as_survivor("reject"),
        await as_survivor("cancel"),
        await as_survivor("revert-rejection"),
    ] == [409] * 4
    renewed = await svc.client.post(f"{base}/access-requests", headers=gone.headers)
    assert renewed.status_code == 201
    history = (await svc.client.get("/users/me/memberships", headers=gone.headers)).json()
    here = sorted(m["status"] for m in history if m["account_id"] == account)
    assert here == ["cancelled", "pending"]

    await eventually(lambda: outbox_drained(svc))
    requested = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("AccessRequested"), at_least=2)
    )
    assert requested[0]["payload"]["user"]["email"] == beto.email
    assert [a["email"] for a in requested[0]["payload"]["administrators"]] == [ana.email]
    decided = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("AccessDecided"), at_least=4)
    )
    assert [d["payload"]["decision"] for d in decided] == [
        "rejected",
        "reverted",
        "accepted",
        "cancelled",
    ]
    assert decided[0]["payload"]["reason"] == "no la conocemos"
    roles = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("MemberRolesChanged"))
    )
    assert roles[0]["payload"]["roles"] == ["administrator", "buyer"]


async def test_a_user_accepted_in_two_accounts_sees_both_in_mis_registros(start_service, registry):
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana A")
    beto = await registry.person(svc, "Beto B")
    caro = await registry.person(svc, "Caro C")
    first = await ready_account(svc, ana, "supplier")
    second = await ready_account(svc, beto, "entity")
    for account, admin, role in ((first, ana, "supplier"), (second, beto, "buyer")):
        assert (
            await svc.client.post(f"/accounts/{account}/access-requests", headers=caro.headers)
        ).status_code == 201
        accepted = await svc.client.post(
            f"/accounts/{account}/members/{caro.user_id}/accept",
            json={"roles": [role]},
            headers=admin.headers,
        )
        assert accepted.status_code == 200

    mine = (await svc.client.get("/users/me/memberships", headers=caro.headers)).json()

    assert {m["account_id"]: m["status"] for m in mine} == {first: "accepted", second: "accepted"}
    assert all(m["accepted_at"] and m["requested_at"] and m["nit"] for m in mine)
    assert {m["account_name"] for m in mine} == {"CONSTRUCCIONES NANDU SAS", "ALCALDIA DE BELLO"}


async def test_writers_take_no_turns_and_maintenance_leaves_live_accounts_alone(
    start_service, registry
):
    """Every account change used to leave a turn claim for maintenance to prune; the account's
    version now arbitrates, so nothing is claimed, and after maintenance the next change goes
    through as before."""
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana Admin")
    account = await ready_account(svc, ana, "entity")

    await svc.runtime.maintain_once()

    assert await svc.db["turn_claims"].count_documents({}) == 0
    beto = await registry.person(svc, "Beto Buyer")
    joined = await svc.client.post(f"/accounts/{account}/access-requests", headers=beto.headers)
    assert joined.status_code == 201, joined.text
    accepted = await svc.client.post(
        f"/accounts/{account}/members/{beto.user_id}/accept",
        json={"roles": ["buyer"]},
        headers=ana.headers,
    )
    assert accepted.status_code == 200, accepted.text
    stored = await svc.db["accounts"].find_one({"_id": account})
    assert stored["_v"] == 1 + 4 + 1 + 2  # created, four uploads, submitted, asked, accepted
