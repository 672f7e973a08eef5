"""Sign-up, the confirmation link and what travels on the topic."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from secop_devinfra.keys import DevKeys

from tests.integration.registration.helpers import (
    PASSWORD,
    confirmation_token,
    confirmed_user,
    events_on,
    log_in,
    opened,
    sign_up,
    sign_up_form,
    wait_events,
)

pytestmark = pytest.mark.integration


async def test_sign_up_event_carries_no_secret_and_its_sealed_token_confirms_the_user(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid, username=f"{uid}.Ana", email=f"{uid}.Ana@Example.com")
    response = await svc.client.post("/users", json=form)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == f"{uid}.ana" and body["status"] == "pending_confirmation"
    user_id = body["user_id"]

    [event] = await wait_events(svc, "UserRegistered", user_id, 1)
    raw = json.dumps(event)
    for secret in (PASSWORD, "Firulais", "firulais", "argon2"):
        assert secret not in raw
    payload = event["payload"]
    assert payload["mobile_phone"] == "+573001234567"
    assert payload["time_zone"] == "America/Bogota"
    token = opened(dev_keys, event, "sealed_confirmation_token")
    assert token not in raw
    stored = await svc.db["users"].find_one({"_id": user_id})
    assert token not in json.dumps(stored, default=str)

    early = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": PASSWORD}
    )
    assert early.status_code == 403 and early.json()["reason"] == "not_confirmed"

    page = await svc.client.get(
        "/ConfirmAccount", params={"ConfirmationGuid": token, "CompanyName": "X<y>"}
    )
    assert page.status_code == 200 and "X&lt;y&gt;" in page.text  # the GET consumes nothing

    confirmed = await svc.client.post("/users/confirmation", json={"token": token})
    assert confirmed.status_code == 200 and confirmed.json() == {"status": "active"}
    [confirmation] = await wait_events(svc, "UserConfirmed", user_id, 1)
    assert confirmation["payload"]["username"] == f"{uid}.ana"

    reused = await svc.client.post("/users/confirmation", json={"token": token})
    assert reused.status_code == 400
    unknown = await svc.client.post("/users/confirmation", json={"token": "nope" * 10})
    assert unknown.status_code == 400

    headers = await log_in(svc, f"{uid}.ANA")
    me = await svc.client.get("/users/me", headers=headers)
    assert me.status_code == 200 and me.json()["email"] == f"{uid}.Ana@example.com"
    assert "password_hash" not in me.text


async def test_a_link_names_its_user_so_following_it_reads_one_user_by_id(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """Following a link reads the user its token names, by ``_id`` (a look-up by hash read
    every user on the development database); the random part still decides, a spent link
    still says so, and a link issued before ids were in tokens still works."""
    svc = await start_service("registration")
    user_id = await sign_up(svc, sign_up_form(uid))
    token = await confirmation_token(svc, dev_keys, user_id)
    assert token.startswith(f"{user_id}.")
    forged = f"{user_id}.{'A' * 43}"
    refused = await svc.client.post("/users/confirmation", json={"token": forged})
    assert refused.status_code == 400 and refused.json()["reason"] == "unknown"
    assert (await svc.client.post("/users/confirmation", json={"token": token})).status_code == 200
    again = await svc.client.post("/users/confirmation", json={"token": token})
    assert again.status_code == 400 and again.json()["reason"] == "used"

    # A sign-up whose link predates ids in tokens (stored by its hash alone).
    other = await sign_up(svc, sign_up_form(uid + "b"))
    legacy = "L" * 43
    await svc.db["users"].update_one(
        {"_id": other}, {"$set": {"confirm_hash": hashlib.sha256(legacy.encode()).hexdigest()}}
    )
    legacy_ok = await svc.client.post("/users/confirmation", json={"token": legacy})
    assert legacy_ok.status_code == 200, legacy_ok.text


async def test_sign_up_refuses_a_taken_username_and_answers_alike_for_email_and_document(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """A 409 naming the email or document told anyone which were registered: only the username
    (a person picks it) is refused; the holder of the rest is told by email."""
    svc = await start_service("registration")
    holder = await confirmed_user(svc, dev_keys, sign_up_form(uid, 0))
    taken_name = await svc.client.post("/users", json=sign_up_form(uid, 1, username=f"{uid}.U0"))
    assert taken_name.status_code == 409, taken_name.text
    assert taken_name.json()["detail"][0]["loc"] == ["body", "username"]

    fresh = await svc.client.post("/users", json=sign_up_form(uid, 4))
    same_email = await svc.client.post(
        "/users", json=sign_up_form(uid, 2, email=f"{uid.upper()}.0@EXAMPLE.com")
    )
    same_document = await svc.client.post(
        "/users",
        json=sign_up_form(uid, 3, document_number=sign_up_form(uid, 0)["document_number"]),
    )
    answers = [fresh, same_email, same_document]
    assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
    assert {frozenset(r.json()) for r in answers} == {frozenset({"user_id", "username", "status"})}
    assert {r.json()["status"] for r in answers} == {"pending_confirmation"}

    # The holder hears of both attempts (the second within the minute is not sent again).
    [notice] = await wait_events(svc, "SignUpAttempted", holder, 1)
    assert notice["payload"]["matched"] in (["email"], ["document_number"])
    assert notice["payload"]["email"] == f"{uid}.0@example.com"
    # A link to a confirmed user's address could only fail: none goes out for that sign-up.
    registered = await events_on(svc, "UserRegistered", at_least=3)
    assert same_email.json()["user_id"] not in {e["payload"]["user_id"] for e in registered}
    # The sign-up with the holder's document gets its link, but cannot take the document.
    token = await confirmation_token(svc, dev_keys, same_document.json()["user_id"])
    refused = await svc.client.post("/users/confirmation", json={"token": token})
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "document_number"]

    invalid = {
        "username": {"username": "a b"},
        "email": {"email": "nobody"},
        "mobile_phone": {"mobile_phone": "12"},
        "time_zone": {"time_zone": "Nowhere/City"},
        "accept_terms": {"accept_terms": False},
        "password_confirmation": {"password_confirmation": "Other#123x"},
        "password": {"password": "password1", "password_confirmation": "password1"},
    }
    for field, change in invalid.items():
        response = await svc.client.post("/users", json=sign_up_form(uid, 9, **change))
        assert response.status_code == 422, (field, response.text)
        assert field in json.dumps(response.json()["detail"]), (field, response.text)


async def test_two_racing_sign_ups_with_one_username_give_exactly_one_created(
    start_service, uid: str
) -> None:
    svc = await start_service("registration")
    forms = [sign_up_form(uid, n, username=f"{uid}.same") for n in range(4)]
    responses = await asyncio.gather(*(svc.client.post("/users", json=f) for f in forms))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409], [r.text for r in responses]
    assert await svc.db["users"].count_documents({"username": f"{uid}.same"}) == 1


async def test_an_expired_confirmation_link_answers_gone(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration", confirmation_ttl_s=1)
    user_id = await sign_up(svc, sign_up_form(uid))
    token = await confirmation_token(svc, dev_keys, user_id)
    await asyncio.sleep(1.1)
    expired = await svc.client.post("/users/confirmation", json={"token": token})
    assert expired.status_code == 410, expired.text
    user = await svc.db["users"].find_one({"_id": user_id})
    assert user["status"] == "pending_confirmation"


async def test_resend_sends_at_most_one_link_a_minute_and_answers_alike_for_strangers(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await sign_up(svc, form)
    answers = []
    for who in (form["username"], form["email"], "nobody-" + uid):
        r = await svc.client.post("/users/confirmation/resend", json={"username_or_email": who})
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1] == answers[2] and answers[0][0] == 202
    [event] = await wait_events(svc, "ConfirmationRequested", user_id, 1)
    newest = opened(dev_keys, event, "sealed_confirmation_token")
    original = await confirmation_token(svc, dev_keys, user_id)
    assert (
        await svc.client.post("/users/confirmation", json={"token": original})
    ).status_code == 400
    assert (await svc.client.post("/users/confirmation", json={"token": newest})).status_code == 200


async def test_resend_is_limited_per_client_address(start_service, uid: str) -> None:
    """Each resend costs a look-up and maybe an email: one address cannot ask without end."""
    svc = await start_service("registration", ip_limit_per_minute=3)
    body = {"username_or_email": f"nobody-{uid}"}
    # 7 requests: even if a minute boundary splits them, one window sees more than 3.
    codes = [
        (await svc.client.post("/users/confirmation/resend", json=body)).status_code
        for _ in range(7)
    ]
    assert codes[0] == 202 and 429 in codes
    assert set(codes) == {202, 429}


async def test_an_unconfirmed_sign_up_holds_no_email_or_document_and_expires_with_its_link(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """Anyone could register a victim's ID number with their own email and hold it for good:
    the victim could not sign up, and recovery by document reached the squatter."""
    svc = await start_service("registration", confirmation_ttl_s=2)
    victim = sign_up_form(uid, 0)
    squatter = await sign_up(
        svc,
        sign_up_form(uid, 1, document_number=victim["document_number"], username=f"{uid}.sq"),
    )
    owner = await confirmed_user(svc, dev_keys, victim)  # the document is the victim's now
    recovered = await svc.client.post(
        "/recovery/username",
        json={"document_number": victim["document_number"]},
    )
    assert recovered.status_code == 202
    [answer] = await wait_events(svc, "UsernameRecoveryRequested", owner, 1)
    assert answer["payload"]["email"] == victim["email"]
    await asyncio.sleep(1)  # the relay publishes within a second: give a stray one its chance
    strays = await events_on(svc, "UsernameRecoveryRequested", at_least=1)
    assert {e["payload"]["user_id"] for e in strays} == {owner}

    # The squatter's link cannot take the document; after it expires, so does the sign-up,
    # and its username is free again.
    await asyncio.sleep(2.5)
    again = await svc.client.post("/users", json=sign_up_form(uid, 2, username=f"{uid}.sq"))
    assert again.status_code == 201, again.text
    assert await svc.db["users"].count_documents({"_id": squatter}) == 0


async def test_sign_ups_are_limited_per_client_before_any_hashing(start_service, uid: str) -> None:
    svc = await start_service("registration", ip_limit_per_minute=3)
    codes = [
        (await svc.client.post("/users", json=sign_up_form(uid, n))).status_code for n in range(7)
    ]
    assert codes[0] == 201 and 429 in codes
    assert await svc.db["users"].count_documents({"username": {"$regex": f"^{uid}"}}) == (
        codes.count(201)
    )


async def test_a_flood_of_sign_ups_gets_503_instead_of_starving_logins(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service(
        "registration", ip_limit_per_minute=1000, hash_workers=1, signup_hash_limit=1
    )
    form = sign_up_form(uid, 99)
    await confirmed_user(svc, dev_keys, form)
    flood = [svc.client.post("/users", json=sign_up_form(uid, n)) for n in range(8)]
    login = svc.client.post("/sessions", json={"username": form["username"], "password": PASSWORD})
    *signups, logged_in = await asyncio.gather(*flood, login)
    assert logged_in.status_code == 200, logged_in.text
    codes = sorted(r.status_code for r in signups)
    assert 201 in codes and 503 in codes, codes
    busy = next(r for r in signups if r.status_code == 503)
    assert int(busy.headers["Retry-After"]) > 0 and "busy" in busy.json()["detail"]
