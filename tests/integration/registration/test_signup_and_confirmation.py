"""Sign-up, the confirmation link and what travels on the topic."""

from __future__ import annotations

import asyncio
import json

import pytest
from secop_devinfra.keys import DevKeys

from tests.integration.registration.helpers import (
    PASSWORD,
    confirmation_token,
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


async def test_sign_up_refuses_taken_username_email_and_document_naming_the_field(
    start_service, uid: str
) -> None:
    svc = await start_service("registration")
    await sign_up(svc, sign_up_form(uid, 0))
    cases = {
        "username": sign_up_form(uid, 1, username=f"{uid}.U0"),
        "email": sign_up_form(uid, 2, email=f"{uid.upper()}.0@EXAMPLE.com"),
        "document_number": sign_up_form(
            uid, 3, document_number=sign_up_form(uid, 0)["document_number"]
        ),
    }
    for field, form in cases.items():
        response = await svc.client.post("/users", json=form)
        assert response.status_code == 409, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]

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
