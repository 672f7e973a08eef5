"""Invitations ("Crear usuarios") on the real broker and database: an administrator of an
active account invites, the link travels only sealed (and reaches the invitee's mailbox through
notification), the invited user accepts once and is a member with the invited roles; resend,
revoke, expiry; the bounds on invitation emails (per account, and per address across accounts
with an ``$inc`` upsert) and the maintenance pass that drops old closed invitations."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from secop_contracts.membership import MemberInvited
from secop_runtime.sealing import open_sealed

from tests.integration.membership.conftest import outbox_drained, ready_account
from tests.integration.membership.test_accounts import decide, status_of
from tests.support.kafka import json_values, read_topic
from tests.support.mailbox import links_in
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

#: Fast notification sends (see tests/integration/notification/conftest.py).
RESEND_S = 3
FAST_MAIL = {"retry_backoff_base_s": 0.2, "sender_poll_interval_s": 0.2, "smtp_timeout_s": 5.0}


async def sent_tokens(infra, svc, keys, count: int) -> list[tuple[dict, str]]:
    """The first ``count`` ``MemberInvited`` events on the topic, each with its opened token."""
    records = await read_topic(
        infra.kafka_bootstrap, svc.settings.topic("MemberInvited"), at_least=count
    )
    events = json_values(records)
    for raw, event in zip(records, events, strict=True):
        token = open_sealed(keys.seal_private, event["payload"]["sealed_invitation_token"])
        assert token.encode() not in raw.value  # the plain token never travels
    return [
        (e, open_sealed(keys.seal_private, e["payload"]["sealed_invitation_token"])) for e in events
    ]


async def test_an_invited_user_accepts_once_and_joins_with_the_invited_roles(
    start_service, registry, infra, dev_keys, mailbox
):
    svc = await start_service("membership", invitation_resend_interval_s=RESEND_S)
    await start_service("notification", **FAST_MAIL)
    ana = await registry.person(svc, "Ana Admin")
    carla = await registry.person(svc, "Carla Ruiz")
    mallory = await registry.person(svc, "Mallory Otra")
    account = await ready_account(svc, ana, "entity")  # pending activation
    base = f"{account}/invitations"

    def invite(who, email, roles=("administrator", "buyer"), name="Carla Ruiz"):
        body = {"name": name, "email": email, "roles": list(roles)}
        return svc.client.post(f"/accounts/{base}", json=body, headers=who.headers)

    waiting = await invite(ana, carla.email)  # not vetted by the service desk yet
    assert waiting.status_code == 409 and "only an active account" in waiting.json()["detail"]
    await decide(svc, infra, account, "approve")
    await eventually(lambda: _is(status_of(svc, account), "active"), what="the activation")

    async def accept(who, token):
        return await svc.client.post(
            "/invitations/accept", json={"token": token}, headers=who.headers
        )

    assert (await invite(carla, carla.email)).status_code == 403  # not an administrator
    assert (await invite(ana, carla.email, roles=["supplier"])).status_code == 422
    created = await invite(ana, carla.email.upper())
    assert created.status_code == 201, created.text
    sent_at = asyncio.get_running_loop().time()
    invitation = created.json()
    resend = f"/accounts/{base}/{invitation['invitation_id']}/resend"
    soon = await svc.client.post(resend, headers=ana.headers)  # a moment later: 429
    assert soon.status_code == 429 and 1 <= int(soon.headers["Retry-After"]) <= RESEND_S
    assert invitation["state"] == "pending" and invitation["roles"] == ["administrator", "buyer"]
    again = await invite(ana, carla.email)
    assert again.status_code == 409 and again.json()["invitation_id"] == invitation["invitation_id"]
    member = await invite(ana, ana.email, name="Ana")
    assert member.status_code == 409 and member.json()["status"] == "accepted"

    listed = await svc.client.get(f"/accounts/{base}", headers=ana.headers)
    assert [i["invitation_id"] for i in listed.json()] == [invitation["invitation_id"]]
    assert (await svc.client.get(f"/accounts/{base}", headers=carla.headers)).status_code == 403
    (first, old_token), *_ = await sent_tokens(infra, svc, dev_keys, 1)
    assert first["payload"]["inviter_name"] == "Ana Admin"
    assert old_token.startswith(f"{account}.{invitation['invitation_id']}.")
    assert old_token not in listed.text and old_token not in str(
        await svc.db["accounts"].find_one({"_id": account})
    )
    schema = MemberInvited.model_json_schema()["$defs"]["MemberInvitedPayload"]["properties"]
    assert schema["email"]["x-personal-data"] and schema["name"]["x-personal-data"]
    assert schema["sealed_invitation_token"]["x-sealed-for"] == "notification"

    # sent again, once the interval has passed: a new link
    await asyncio.sleep(max(0.0, sent_at + RESEND_S + 0.2 - asyncio.get_running_loop().time()))
    resent = await svc.client.post(resend, headers=ana.headers)
    assert resent.status_code == 200, resent.text
    assert resent.json()["sends"] == 2
    _, (second, token) = await sent_tokens(infra, svc, dev_keys, 2)
    assert second["payload"]["resent"] is True and token != old_token

    # the invitee's mailbox: the newest email's link carries the newest token
    mails = await mailbox.wait_for(carla.email, count=2, timeout=60)
    links = [x for m in mails for x in links_in(m) if "/AcceptInvitation" in x]
    assert {parse_qs(urlparse(x).query)["token"][0] for x in links} == {old_token, token}

    stale = await accept(carla, old_token)
    assert stale.status_code == 400 and stale.json()["reason"] == "unknown"
    wrong = await accept(mallory, token)
    assert wrong.status_code == 403 and "another address" in wrong.json()["detail"]
    joined = await accept(carla, token)
    assert joined.status_code == 200, joined.text
    assert joined.json()["roles"] == ["administrator", "buyer"]
    assert joined.json()["account_id"] == account and joined.json()["status"] == "accepted"
    used = await accept(carla, token)
    assert used.status_code == 400 and used.json()["reason"] == "used"

    roster = await svc.client.get(
        f"/accounts/{account}/members?status=accepted", headers=ana.headers
    )
    assert {m["email"]: m["roles"] for m in roster.json()}[carla.email] == [
        "administrator",
        "buyer",
    ]
    assert (await svc.client.get(f"/accounts/{base}", headers=ana.headers)).json() == []
    mine = (await svc.client.get("/users/me/memberships", headers=carla.headers)).json()
    assert [(m["account_id"], m["status"]) for m in mine] == [(account, "accepted")]

    await eventually(lambda: outbox_drained(svc))
    (accepted,) = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("InvitationAccepted"))
    )
    p = accepted["payload"]
    assert p["user"]["user_id"] == str(carla.user_id) and p["user"]["email"] == carla.email
    assert p["invitation_id"] == invitation["invitation_id"] and p["invited_by"] == str(ana.user_id)
    assert p["membership_id"] == joined.json()["membership_id"]


async def test_a_revoked_or_expired_invitation_cannot_be_accepted(
    start_service, registry, infra, dev_keys
):
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana Admin")
    dora = await registry.person(svc, "Dora Díaz")
    eva = await registry.person(svc, "Eva Eva")
    account = await ready_account(svc, ana, "supplier")  # active
    base = f"/accounts/{account}/invitations"
    ids = []
    for who in (dora, eva):
        body = {"name": who.full_name, "email": who.email, "roles": ["supplier"]}
        created = await svc.client.post(base, json=body, headers=ana.headers)
        assert created.status_code == 201, created.text
        ids.append(created.json()["invitation_id"])
    tokens = {e["payload"]["email"]: t for e, t in await sent_tokens(infra, svc, dev_keys, 2)}

    revoked = await svc.client.delete(f"{base}/{ids[0]}", headers=ana.headers)
    assert revoked.status_code == 204
    assert (await svc.client.delete(f"{base}/{ids[0]}", headers=ana.headers)).status_code == 409
    refused = await svc.client.post(
        "/invitations/accept", json={"token": tokens[dora.email]}, headers=dora.headers
    )
    assert refused.status_code == 400 and refused.json()["reason"] == "revoked"

    # Eva's link runs out (moved back in the stored account: nobody waits a week here)
    stored = await svc.db["accounts"].find_one({"_id": account})
    for invitation in stored["invitations"]:
        if invitation["invitation_id"] == ids[1]:
            invitation["expires_at"] = datetime.now(UTC) - timedelta(seconds=1)
    await svc.db["accounts"].update_one(
        {"_id": account}, {"$set": {"invitations": stored["invitations"]}}
    )
    gone = await svc.client.post(
        "/invitations/accept", json={"token": tokens[eva.email]}, headers=eva.headers
    )
    assert gone.status_code == 410 and gone.json()["reason"] == "expired"
    assert (await svc.client.get(base, headers=ana.headers)).json() == []

    await eventually(lambda: outbox_drained(svc))
    (event,) = json_values(
        await read_topic(infra.kafka_bootstrap, svc.settings.topic("InvitationRevoked"))
    )
    assert event["payload"]["email"] == dora.email
    assert event["payload"]["revoked_by"] == str(ana.user_id)


async def _is(value, expected) -> bool:
    return (await value) == expected


async def test_invitation_emails_are_bounded_and_old_closed_invitations_go_in_maintenance(
    start_service, registry
):
    svc = await start_service(
        "membership", invitation_emails_per_day=3, invitation_emails_per_address_per_day=2
    )
    ana = await registry.person(svc, "Ana Admin")
    bea = await registry.person(svc, "Bea Admin")
    first = await ready_account(svc, ana, "supplier")  # active once submitted
    second = await ready_account(svc, bea, "supplier")
    dora = f"dora.{ana.user_id.hex[:8]}@example.co"

    def invite(who, account, email, name="Dora Díaz"):
        body = {"name": name, "email": email, "roles": ["supplier"]}
        return svc.client.post(f"/accounts/{account}/invitations", json=body, headers=who.headers)

    phishing = await invite(ana, first, dora, "Dora\nRenueve su clave en http://x.example")
    assert phishing.status_code == 422
    assert phishing.json()["detail"][0]["loc"] == ["body", "name"]
    created = await invite(ana, first, dora.upper())
    assert created.status_code == 201, created.text
    one = created.json()["invitation_id"]
    revoked = await svc.client.delete(f"/accounts/{first}/invitations/{one}", headers=ana.headers)
    assert revoked.status_code == 204  # and Dora is told: her second email today

    busy = await invite(bea, second, dora)  # another account, the same address
    assert busy.status_code == 429 and "tomorrow" in busy.json()["detail"]
    assert 0 < int(busy.headers["Retry-After"]) <= 24 * 3600
    digest = hashlib.sha256(dora.encode()).hexdigest()
    counters = await svc.db["invitation_recipients"].find().to_list()
    assert [(c["_id"].split(":")[0], c["n"]) for c in counters] == [(digest, 2)]
    assert "dora" not in str(counters)

    assert (await invite(ana, first, f"eva.{digest[:6]}@example.co", "Eva")).status_code == 201
    spent = await invite(ana, first, f"fay.{digest[:6]}@example.co", "Fay")  # a 4th email
    assert spent.status_code == 429 and "last 24 hours" in spent.json()["detail"]
    assert int(spent.headers["Retry-After"]) > 23 * 3600

    # the revoked invitation closed longer ago than the retention: the hourly pass drops it
    stored = await svc.db["accounts"].find_one({"_id": first})
    assert len(stored["invitations"]) == 2
    for invitation in stored["invitations"]:
        if invitation["invitation_id"] == one:
            invitation["closed_at"] = datetime.now(UTC) - timedelta(days=31)
    await svc.db["accounts"].update_one(
        {"_id": first}, {"$set": {"invitations": stored["invitations"]}}
    )
    await svc.runtime.maintain_once()
    kept = (await svc.db["accounts"].find_one({"_id": first}))["invitations"]
    assert [i["name"] for i in kept] == ["Eva"]
