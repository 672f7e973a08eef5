"""Recovering a lost username or password: equal answers, only the newest link works."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import pytest
from secop_devinfra.keys import DevKeys

from tests.integration.registration.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    confirmed_user,
    events_on,
    log_in,
    opened,
    sign_up_form,
    wait_events,
)
from tests.support.kafka import produce_raw
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def reset_body(token: str, password: str = NEW_PASSWORD) -> dict[str, str]:
    return {"token": token, "new_password": password, "new_password_confirmation": password}


async def test_username_recovery_answers_alike_and_discloses_by_what_was_asked(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")  # four asks in a row: all answered (5/h cap)
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    known = {
        "document_number": form["document_number"],
        "email": form["email"].upper(),
        "mobile_phone": "+57 300 123 4567",
        "username": form["username"],
    }
    unknown = {
        "document_number": "99999999999",
        "email": f"nobody.{uid}@example.com",
        "mobile_phone": "+57 311 000 0000",
        "username": f"{uid}.nobody",
    }
    for field in known:
        a = await svc.client.post("/recovery/username", json={field: known[field]})
        b = await svc.client.post("/recovery/username", json={field: unknown[field]})
        assert a.status_code == b.status_code == 202
        assert a.content == b.content and form["username"] not in a.text

    events = await wait_events(svc, "UsernameRecoveryRequested", user_id, 4)
    by = {e["payload"]["asked_by"]: e["payload"] for e in events}
    assert by["document_number"]["username"] == by["email"]["username"] == form["username"]
    assert by["mobile_phone"]["disclose"] == by["username"]["disclose"] == "email_hint"
    assert by["username"]["email_hint"].endswith(".com") and "***" in by["username"]["email_hint"]
    assert by["username"]["username"] is None

    for bad in ({}, {"email": form["email"], "username": form["username"]}):
        assert (await svc.client.post("/recovery/username", json=bad)).status_code == 422


async def test_only_the_newest_reset_link_works_once_and_it_ends_every_session(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration", email_min_interval_s=0)
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    old_session = await log_in(svc, form["username"])
    for _ in range(2):
        r = await svc.client.post("/recovery/password", json={"username": form["username"]})
        assert r.status_code == 202
    stranger = await svc.client.post("/recovery/password", json={"username": f"{uid}.nobody"})
    assert stranger.content == r.content
    older, newest = (
        opened(dev_keys, e, "sealed_reset_token")
        for e in await wait_events(svc, "PasswordResetRequested", user_id, 2)
    )
    page = await svc.client.get("/ChangePassword", params={"token": newest})
    assert page.status_code == 200 and form["username"] in page.text

    assert (
        await svc.client.post("/recovery/password/reset", json=reset_body(older))
    ).status_code == 400
    weak = await svc.client.post("/recovery/password/reset", json=reset_body(newest, "abc"))
    assert weak.status_code == 422  # a weak choice does not burn the link
    done = await svc.client.post("/recovery/password/reset", json=reset_body(newest))
    assert done.status_code == 204, done.text
    again = await svc.client.post("/recovery/password/reset", json=reset_body(newest))
    assert again.status_code == 400

    assert (await svc.client.get("/users/me", headers=old_session)).status_code == 401
    refused = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    await log_in(svc, form["username"], NEW_PASSWORD)
    [changed] = await wait_events(svc, "PasswordChanged", user_id, 1)
    assert changed["payload"]["via"] == "reset"
    [revoked] = await wait_events(svc, "UserSessionsRevoked", user_id, 1)
    assert revoked["payload"]["reason"] == "password_reset"
    assert NEW_PASSWORD not in json.dumps([changed, revoked])


async def test_an_expired_reset_link_answers_gone_and_links_are_rate_limited(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration", reset_ttl_s=1)
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    for _ in range(3):  # one email per minute: the 2nd and 3rd are silently not sent
        r = await svc.client.post("/recovery/password", json={"username": form["username"]})
        assert r.status_code == 202
    [event] = await wait_events(svc, "PasswordResetRequested", user_id, 1)
    await asyncio.sleep(1.1)
    expired = await svc.client.post(
        "/recovery/password/reset", json=reset_body(opened(dev_keys, event, "sealed_reset_token"))
    )
    assert expired.status_code == 410
    await asyncio.sleep(1.0)
    assert len(await events_on(svc, "PasswordResetRequested", key=user_id)) == 1


async def test_a_desk_request_to_resend_credentials_emails_the_username(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    from uuid import uuid4

    from secop_contracts.support import CredentialsResendRequested

    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    for n, email in enumerate((form["email"], f"nobody.{uid}@example.com")):
        event = CredentialsResendRequested(
            producer="support",
            payload={
                "case_number": f"{uid}-{n}",
                "email": email,
                "agent_id": uuid4(),
                "requested_at": "2026-11-01T12:00:00Z",
            },
        )
        await produce_raw(
            svc.settings.kafka_bootstrap_servers,
            svc.settings.topic(event.TOPIC),
            event.to_json(),
            key=event.key.encode(),
        )
    [recovery] = await wait_events(svc, "UsernameRecoveryRequested", user_id, 1)
    p = recovery["payload"]
    assert p["asked_by"] == "support_case" and p["case_number"] == f"{uid}-0"
    assert p["username"] == form["username"] and p["disclose"] == "username"


async def test_recovery_and_resend_take_the_same_time_for_known_and_unknown_people(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """For a known user recovery cost several writes and a wait for the relay, for an unknown
    one a single update: equal answers, but their timing said who exists. Now the request is
    stored (one insert for everyone) and a worker does the rest."""
    svc = await start_service("registration", ip_limit_per_minute=100_000)
    form = sign_up_form(uid, 0)
    user_id = await confirmed_user(svc, dev_keys, form)
    pending = sign_up_form(uid, 1)
    assert (await svc.client.post("/users", json=pending)).status_code == 201
    routes = {
        "/recovery/username": ({"email": form["email"]}, {"email": f"{uid}.x@example.com"}),
        "/recovery/password": ({"username": form["username"]}, {"username": f"{uid}.nadie"}),
        "/users/confirmation/resend": (
            {"username_or_email": pending["username"]},
            {"username_or_email": f"{uid}.nadie"},
        ),
    }
    rounds = 80
    for path, (known, unknown) in routes.items():
        for body in (known, unknown):  # warm both paths up
            assert (await svc.client.post(path, json=body)).status_code == 202
        took: dict[str, list[float]] = {"known": [], "unknown": []}
        for n in range(rounds):
            order = [("known", known), ("unknown", unknown)]
            for who, body in order if n % 2 else reversed(order):
                start = time.perf_counter()
                answer = await svc.client.post(path, json=body)
                took[who].append(time.perf_counter() - start)
                assert answer.status_code == 202
        known_s, unknown_s = (statistics.median(took[w]) for w in ("known", "unknown"))
        # The same work: medians within a quarter of each other (or 2 ms, for fast paths).
        assert abs(known_s - unknown_s) <= max(0.002, 0.25 * min(known_s, unknown_s)), (
            path,
            round(known_s * 1000, 2),
            round(unknown_s * 1000, 2),
        )
    # The worker did the work the answers did not wait for.
    await wait_events(svc, "UsernameRecoveryRequested", user_id, 1)
    await wait_events(svc, "PasswordResetRequested", user_id, 1)

    async def drained() -> bool:  # what was typed does not stay
        return await svc.db["self_service_requests"].count_documents({}) == 0

    await eventually(drained)
