"""Logging in and out, tokens, and throttling that survives a restart."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from secop_devinfra.infra import Endpoints
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
from tests.support.services import run_service, settings_for
from tests.support.tokens import bearer
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_login_gives_a_verifiable_token_and_logout_ends_its_session(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    response = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900

    jwks = (await svc.client.get("/.well-known/jwks.json")).json()
    assert all("d" not in key for key in jwks["keys"])
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    claims = jwt.decode(body["access_token"], key.key, algorithms=["EdDSA"], audience="secop")
    assert claims["sub"] == user_id and claims["roles"] == []

    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 200
    assert (await svc.client.delete("/sessions/current", headers=headers)).status_code == 204
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 401
    [out] = await wait_events(svc, "UserSignedOut", user_id, 1)
    assert out["payload"]["session_id"] == claims["sid"]
    signed_in = await wait_events(svc, "UserSignedIn", user_id, 1)
    assert "password" not in json.dumps(signed_in)

    async def published_and_gone() -> bool:  # analytics facts leave nothing behind
        return await svc.db["outbox_events"].count_documents({}) == 0

    await eventually(published_and_gone)

    history = (
        await svc.client.get(
            "/users/me/access-history", headers=await log_in(svc, form["username"])
        )
    ).json()
    assert [i["kind"] for i in history["items"]][:3] == ["login", "logout", "login"]


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    await confirmed_user(svc, dev_keys, form)
    wrong = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": "Wrong#pass1"}
    )
    unknown = await svc.client.post(
        "/sessions", json={"username": f"{uid}.nobody", "password": "Wrong#pass1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    failed = await events_on(svc, "SignInFailed", at_least=2)
    assert {e["payload"]["subject"] for e in failed} >= {"unknown"}
    assert "Wrong#pass1" not in json.dumps(failed)


async def test_failed_logins_lock_the_account_and_the_lock_survives_a_restart(
    infra: Endpoints, dev_keys: DevKeys, uid: str
) -> None:
    settings = settings_for("registration", infra, dev_keys, uid)
    form = sign_up_form(uid)
    attempt = {"username": form["username"], "password": "Wrong#pass1"}
    async with run_service("registration", settings) as svc:
        await confirmed_user(svc, dev_keys, form)
        for _ in range(5):
            assert (await svc.client.post("/sessions", json=attempt)).status_code == 401
        locked = await svc.client.post(
            "/sessions", json={"username": form["username"], "password": PASSWORD}
        )
        assert locked.status_code == 429
        assert 50 <= int(locked.headers["Retry-After"]) <= 60

    async with run_service("registration", settings) as again:  # a fresh process, same database
        still = await again.client.post(
            "/sessions", json={"username": form["username"], "password": PASSWORD}
        )
        assert still.status_code == 429 and int(still.headers["Retry-After"]) > 0
        user = await again.db["users"].find_one({"username": form["username"]})
        # the wait is over: one more failure doubles it to two minutes
        past = datetime.now(UTC) - timedelta(minutes=2)
        guard = await again.db["login_guards"].find_one({"_id": user["_id"]})
        await again.db["login_guards"].update_one(
            {"_id": user["_id"]},
            {"$set": {f"clients.{c}.last_failure_at": past for c in guard["clients"]}},
        )
        assert (await again.client.post("/sessions", json=attempt)).status_code == 401
        doubled = await again.client.post("/sessions", json=attempt)
        assert doubled.status_code == 429 and 110 <= int(doubled.headers["Retry-After"]) <= 120


async def test_parallel_guesses_get_no_more_tries_than_sequential_ones(
    start_service, dev_keys: DevKeys, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Guesses sent at once must not all pass the gate before the first failure counts: one
    password check per user runs at a time, the others are told to retry."""
    svc = await start_service("registration", ip_limit_per_minute=1000)
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    attempt = {"username": form["username"], "password": "Wrong#pass1"}
    answers: list[int] = []

    async def burst(payload: dict[str, str]) -> list[int]:
        responses = await asyncio.gather(
            *(svc.client.post("/sessions", json=payload) for _ in range(12))
        )
        assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 429)
        return [r.status_code for r in responses]

    while answers.count(401) < 5 and len(answers) < 100:
        answers += await burst(attempt)
    answers += await burst(attempt)  # the account now waits: nothing more is checked
    assert set(answers) <= {401, 429}
    checked = answers.count(401)
    assert checked == 5  # FAILURES_BEFORE_WAIT, however the guesses were sent
    guard = await svc.db["login_guards"].find_one({"_id": user_id})
    assert guard is not None and guard["failures"] == checked
    refused = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": PASSWORD}
    )
    assert refused.status_code == 429 and "wait" in refused.json()["detail"]

    # An unknown username answers the same way under the same burst.
    ghost = {"username": f"{uid}.nadie", "password": "Wrong#pass1"}
    with caplog.at_level(logging.INFO, logger="registration"):
        assert set(await burst(ghost)) <= {401, 429}
    # A typed username nobody has (often a password typed in the wrong box) is never logged.
    logged = str([record.__dict__ for record in caplog.records])  # messages and their extras
    assert "password check refused" in logged and ghost["username"] not in logged
    # Its failures are counted (so that 429 comes as for a real account) under a keyed stand-in.
    stored = str(await svc.db["login_guards"].find({}).to_list())
    assert "unknown:" in stored and ghost["username"] not in stored


async def test_a_signed_in_session_cannot_guess_the_password_past_the_login_throttle(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """Changing the password or username asks for the current one: those checks count with
    failed logins, or a stolen session could guess it without limit and take the account."""
    svc = await start_service("registration", ip_limit_per_minute=1000)
    form = sign_up_form(uid)
    await confirmed_user(svc, dev_keys, form)
    headers = await log_in(svc, form["username"])
    guess = {
        "current_password": "Wrong#pass1",
        "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD,
    }
    answers = [
        (await svc.client.put("/users/me/password", json=guess, headers=headers)).status_code
        for _ in range(4)
    ]
    rename = {"current_password": "Wrong#pass2", "new_username": f"{uid}.otro"}
    answers.append(
        (await svc.client.put("/users/me/username", json=rename, headers=headers)).status_code
    )
    assert answers == [400] * 5
    gated = await svc.client.put("/users/me/password", json=guess, headers=headers)
    assert gated.status_code == 429 and int(gated.headers["Retry-After"]) > 0
    # the same gate as logins: even the right password waits now
    right = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": PASSWORD}
    )
    assert right.status_code == 429
    history = (await svc.client.get("/users/me/access-history", headers=headers)).json()
    kinds = [i["kind"] for i in history["items"]]
    assert kinds.count("password_check_failed") == 5 and "locked" in kinds


def _from(address: str, cookie: str | None = None) -> dict[str, str]:
    """Headers of a request from ``address`` (behind the trusted in-process proxy)."""
    headers = {"X-Forwarded-For": address}
    if cookie:
        headers["Cookie"] = f"secop_device={cookie}"
    return headers


async def test_a_strangers_failures_never_refuse_the_owner_from_another_address(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """The gate was keyed on the user alone: a stranger's wrong guesses made the owner wait,
    even with the right password, from anywhere."""
    svc = await start_service(
        "registration", ip_limit_per_minute=1000, trusted_proxies=["127.0.0.1"]
    )
    form = sign_up_form(uid)
    await confirmed_user(svc, dev_keys, form)
    wrong = {"username": form["username"], "password": "Wrong#pass1"}
    stranger = [
        (await svc.client.post("/sessions", json=wrong, headers=_from("203.0.113.7"))).status_code
        for _ in range(7)
    ]
    assert stranger == [401] * 5 + [429] * 2
    right = {"username": form["username"], "password": PASSWORD}
    owner = await svc.client.post("/sessions", json=right, headers=_from("198.51.100.2"))
    assert owner.status_code == 200, owner.text
    # The stranger still waits, even with the right password.
    svc.client.cookies.clear()
    again = await svc.client.post("/sessions", json=right, headers=_from("203.0.113.7"))
    assert again.status_code == 429


async def test_unknown_usernames_answer_exactly_like_real_ones_under_guessing(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """Six wrong logins gave 429 for a real account and always 401 for an unknown one."""
    svc = await start_service("registration", ip_limit_per_minute=1000)
    form = sign_up_form(uid)
    await confirmed_user(svc, dev_keys, form)

    async def guesses(username: str) -> list[tuple[int, Any]]:
        out = []
        for _ in range(7):
            r = await svc.client.post(
                "/sessions", json={"username": username, "password": "Wrong#pass1"}
            )
            out.append((r.status_code, r.json(), r.headers.get("Retry-After")))
        return out

    real, ghost = await guesses(form["username"]), await guesses(f"{uid}.nadie")
    assert [c for c, *_ in real] == [c for c, *_ in ghost] == [401] * 5 + [429] * 2
    assert [b for _, b, _ in real] == [b for _, b, _ in ghost]
    for (_, _, a), (_, _, b) in zip(real[5:], ghost[5:], strict=True):
        assert abs(int(a) - int(b)) <= 2  # the same wait, give or take the seconds between


async def test_a_hundred_failures_lock_strangers_out_spare_the_owners_device_and_email_a_link(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service(
        "registration", ip_limit_per_minute=1000, trusted_proxies=["127.0.0.1"]
    )
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    right = {"username": form["username"], "password": PASSWORD}
    first = await svc.client.post("/sessions", json=right, headers=_from("198.51.100.2"))
    assert first.status_code == 200
    device = first.cookies["secop_device"]
    assert "httponly" in first.headers["set-cookie"].lower()
    assert "samesite=strict" in first.headers["set-cookie"].lower()
    svc.client.cookies.clear()

    # 99 failures spread over many addresses (a botnet), then one more: the hundredth locks.
    await svc.db["login_guards"].update_one(
        {"_id": user_id},
        {"$set": {"failures": 99, "last_failure_at": datetime.now(UTC)}},
        upsert=True,
    )
    wrong = {"username": form["username"], "password": "Wrong#pass1"}
    assert (
        await svc.client.post("/sessions", json=wrong, headers=_from("203.0.113.9"))
    ).status_code == 401
    for address in ("203.0.113.10", "198.51.100.2"):  # a new address, even the owner's
        locked = await svc.client.post("/sessions", json=right, headers=_from(address))
        assert locked.status_code == 429 and "locked" in locked.json()["detail"]
    # The owner's browser, which signed in before, still gets in (and ends the run).
    mine = await svc.client.post("/sessions", json=right, headers=_from("192.0.2.50", device))
    assert mine.status_code == 200, mine.text
    assert "set-cookie" not in mine.headers  # already known: no new cookie
    svc.client.cookies.clear()

    # The owner was emailed a link at the hundredth failure; it sets a new password.
    [unlock] = await wait_events(svc, "PasswordResetRequested", user_id, 1)
    assert unlock["payload"]["reason"] == "locked"
    token = opened(dev_keys, unlock, "sealed_reset_token")
    done = await svc.client.post(
        "/recovery/password/reset",
        json={
            "token": token,
            "new_password": NEW_PASSWORD,
            "new_password_confirmation": NEW_PASSWORD,
        },
    )
    assert done.status_code == 204, done.text
    again = {"username": form["username"], "password": NEW_PASSWORD}
    assert (
        await svc.client.post("/sessions", json=again, headers=_from("203.0.113.10"))
    ).status_code == 200
    history = (
        await svc.client.get(
            "/users/me/access-history",
            params={"size": 50},
            headers=await log_in(svc, form["username"], NEW_PASSWORD),
        )
    ).json()
    kinds = [i["kind"] for i in history["items"]]
    assert {"locked", "login_failed", "password_reset", "login"} <= set(kinds)


async def test_a_lock_lasts_until_a_password_reset(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    past = datetime.now(UTC) - timedelta(days=60)
    await svc.db["login_guards"].insert_one(
        {"_id": user_id, "failures": 100, "last_failure_at": past}
    )
    right = {"username": form["username"], "password": PASSWORD}
    locked = await svc.client.post("/sessions", json=right)
    assert locked.status_code == 429 and "reset" in locked.json()["detail"]
    assert (
        await svc.client.post("/recovery/password", json={"username": form["username"]})
    ).status_code == 202
    [reset] = await wait_events(svc, "PasswordResetRequested", user_id, 1)
    assert reset["payload"]["reason"] == "requested"
    token = opened(dev_keys, reset, "sealed_reset_token")
    done = await svc.client.post(
        "/recovery/password/reset",
        json={
            "token": token,
            "new_password": NEW_PASSWORD,
            "new_password_confirmation": NEW_PASSWORD,
        },
    )
    assert done.status_code == 204, done.text
    await log_in(svc, form["username"], NEW_PASSWORD)
    assert await svc.db["login_guards"].find_one({"_id": user_id, "failures": {"$gt": 0}}) is None


async def test_too_many_logins_from_one_address_are_refused(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration", ip_limit_per_minute=3)
    attempt = {"username": f"{uid}.x", "password": "Wrong#pass1"}
    # 7 attempts: even if a minute boundary splits them, one window sees more than 3.
    codes = [(await svc.client.post("/sessions", json=attempt)).status_code for _ in range(7)]
    assert codes[0] == 401 and 429 in codes
    # Only the attempts that were answered emit SignInFailed; a throttled one writes nothing.
    answered = codes.count(401)
    await events_on(svc, "SignInFailed", at_least=answered)
    await asyncio.sleep(2)  # the relay publishes within a second: give strays their chance
    refused = await events_on(svc, "SignInFailed", at_least=answered)
    assert len(refused) == answered
    assert {e["payload"]["reason"] for e in refused} == {"bad_credentials"}


async def test_stopping_the_service_ends_its_hashing_threads(
    infra: Endpoints, dev_keys: DevKeys, uid: str
) -> None:
    settings = settings_for("registration", infra, dev_keys, uid)
    async with run_service("registration", settings) as svc:
        hasher = svc.app.state.context().hasher
        assert await hasher.verify(await hasher.hash(PASSWORD), PASSWORD)
    with pytest.raises(RuntimeError, match="shutdown"):
        await hasher.hash(PASSWORD)


async def test_the_maintenance_pass_keeps_each_collection_only_as_long_as_it_says(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """sessions, used_tokens, revoked_sessions and access_history grew forever."""
    svc = await start_service("registration", access_history_retention_days=30)
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=400), now - timedelta(minutes=5)
    db = svc.db
    await db["sessions"].insert_many(
        [
            {"_id": f"{uid}-old", "user_id": "u", "issued_at": old, "expires_at": old},
            {"_id": f"{uid}-new", "user_id": "u", "issued_at": recent, "expires_at": now},
        ]
    )
    await db["used_tokens"].insert_many(
        [{"_id": f"{uid}-old", "user_id": "u", "at": old}, {"_id": f"{uid}-new", "at": recent}]
    )
    await db["access_history"].insert_many(
        [
            {"_id": f"{uid}-old", "user_id": "u", "kind": "login", "at": now - timedelta(days=31)},
            {"_id": f"{uid}-new", "user_id": "u", "kind": "login", "at": recent},
        ]
    )
    await db["revoked_sessions"].insert_many(
        [
            {"_id": f"{uid}-old", "expires_at": old},
            {"_id": f"{uid}-new", "expires_at": now + timedelta(hours=1)},
        ]
    )
    await db["revoked_users"].insert_many(
        [{"_id": f"{uid}-old", "before": old}, {"_id": f"{uid}-new", "before": recent}]
    )
    await svc.app.state.runtime.maintain_once()
    for name in ("sessions", "used_tokens", "access_history", "revoked_sessions", "revoked_users"):
        kept = {d["_id"] for d in await db[name].find({"_id": {"$regex": f"^{uid}"}}).to_list()}
        assert kept == {f"{uid}-new"}, name


async def test_a_login_is_one_record_that_is_both_the_session_and_its_history_entry(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """One write per login: the session is the access history's login record. A session
    opened before that, in the old ``sessions`` collection, still works until it ends."""
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    headers = await log_in(svc, form["username"])
    sid = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["sid"]
    record = await svc.db["access_history"].find_one({"_id": sid})
    assert record is not None and record["kind"] == "login" and record["user_id"] == user_id
    assert record["ended_at"] is None and record["expires_at"] > datetime.now(UTC)
    assert await svc.db["sessions"].count_documents({"user_id": user_id}) == 0
    listed = (await svc.client.get("/users/me/access-history", headers=headers)).json()
    logins = [i for i in listed["items"] if i["kind"] == "login"]
    assert len(logins) == 1 and set(logins[0]) == {"at", "kind", "ip", "user_agent"}
    assert (await svc.client.delete("/sessions/current", headers=headers)).status_code == 204
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 401

    # A session from before the upgrade.
    now = datetime.now(UTC)
    old_sid = f"{uid}old"
    await svc.db["sessions"].insert_one(
        {
            "_id": old_sid,
            "user_id": user_id,
            "issued_at": now - timedelta(minutes=1),
            "expires_at": now + timedelta(minutes=14),
            "ended_at": None,
        }
    )
    old = bearer(dev_keys, uuid.UUID(user_id), form["username"], session_id=old_sid)
    assert (await svc.client.get("/users/me", headers=old)).status_code == 200
    assert (await svc.client.delete("/sessions/current", headers=old)).status_code == 204
    assert (await svc.client.get("/users/me", headers=old)).status_code == 401
    ended = await svc.db["sessions"].find_one({"_id": old_sid})
    assert ended is not None and ended["ended_at"] is not None
