"""One's own data and credentials, the access history, and operator-granted roles."""

from __future__ import annotations

import asyncio
import os
import sys

import jwt
import pytest
from secop_devinfra.infra import Endpoints
from secop_devinfra.keys import DevKeys
from secop_runtime.settings import secret

from tests.integration.registration.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    confirmed_user,
    log_in,
    opened,
    sign_up,
    sign_up_form,
    wait_events,
)
from tests.support.services import run_service, settings_for

pytestmark = pytest.mark.integration


async def test_personal_data_edits_and_a_new_email_waits_for_its_confirmation(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    other = sign_up_form(uid, 1)
    await confirmed_user(svc, dev_keys, other)  # a pending sign-up holds no email
    headers = await log_in(svc, form["username"])

    edit = {"full_name": "Ana M. Pérez", "time_zone": "America/Lima", "security_answer": "Otro"}
    assert (await svc.client.patch("/users/me", json=edit, headers=headers)).status_code == 204
    [updated] = await wait_events(svc, "UserProfileUpdated", user_id, 1)
    assert set(updated["payload"]["changed_fields"]) == {
        "full_name", "time_zone", "security_answer",
    }  # fmt: skip
    assert "Otro" not in str(updated)

    # Another user's address gets the answer any address gets (their notice, no link).
    other_id = (await svc.db["users"].find_one({"username": other["username"]}))["_id"]
    taken = await svc.client.patch(
        "/users/me", json={"email": other["email"], "current_password": PASSWORD}, headers=headers
    )
    assert taken.status_code == 204, taken.text
    [notice] = await wait_events(svc, "SignUpAttempted", other_id, 1)
    assert notice["payload"]["matched"] == ["email"]
    document = {"document_number": other["document_number"]}
    bare_document = await svc.client.patch("/users/me", json=document, headers=headers)
    assert bare_document.status_code == 422  # an ID document change asks for the password
    held = await svc.client.patch(
        "/users/me", json={**document, "current_password": PASSWORD}, headers=headers
    )
    assert held.status_code == 409 and held.json()["detail"][0]["loc"] == [
        "body",
        "document_number",
    ]
    for n in range(2):  # three changes a day, each try counted: no way to test documents
        await svc.client.patch(
            "/users/me",
            json={
                "document_number": f"9{n}{form['document_number']}",
                "current_password": PASSWORD,
            },
            headers=headers,
        )
    capped = await svc.client.patch(
        "/users/me", json={**document, "current_password": PASSWORD}, headers=headers
    )
    assert capped.status_code == 429 and int(capped.headers["Retry-After"]) > 3600
    refused = await svc.client.patch("/users/me", json={"username": "x.y.z"}, headers=headers)
    assert refused.status_code == 422

    new_email = f"{uid}.nuevo@example.com"
    # Recovery links go to the email: a session alone (perhaps a stolen one) cannot move it.
    bare = await svc.client.patch("/users/me", json={"email": new_email}, headers=headers)
    assert bare.status_code == 422
    assert bare.json()["detail"][0]["loc"] == ["body", "current_password"]
    wrong = {"email": new_email, "current_password": "Wrong#pass1", "full_name": "Nadie"}
    assert (await svc.client.patch("/users/me", json=wrong, headers=headers)).status_code == 400
    me = (await svc.client.get("/users/me", headers=headers)).json()
    # Nothing applied (the pending address is still the one typed before).
    assert me["pending_email"] == other["email"] and me["full_name"] == "Ana M. Pérez"
    move = {"email": new_email, "current_password": PASSWORD}
    assert (await svc.client.patch("/users/me", json=move, headers=headers)).status_code == 204
    me = (await svc.client.get("/users/me", headers=headers)).json()
    assert me["email"] == form["email"] and me["pending_email"] == new_email
    [requested] = await wait_events(svc, "ConfirmationRequested", user_id, 1)
    assert requested["payload"]["reason"] == "email_change"
    assert requested["payload"]["email"] == new_email
    token = opened(dev_keys, requested, "sealed_confirmation_token")
    assert (await svc.client.post("/users/confirmation", json={"token": token})).status_code == 200
    me = (await svc.client.get("/users/me", headers=headers)).json()
    assert me["email"] == new_email and me["pending_email"] is None
    updates = await wait_events(svc, "UserProfileUpdated", user_id, 2)
    assert updates[-1]["payload"]["changed_fields"] == ["email"]


async def test_changing_password_and_username_needs_the_current_password(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    other = sign_up_form(uid, 1)
    await sign_up(svc, other)
    headers = await log_in(svc, form["username"])

    wrong = {"current_password": "Nope#123x", "new_username": f"{uid}.nuevo"}
    assert (
        await svc.client.put("/users/me/username", json=wrong, headers=headers)
    ).status_code == 400
    taken = {"current_password": PASSWORD, "new_username": other["username"].upper()}
    r = await svc.client.put("/users/me/username", json=taken, headers=headers)
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "username"]
    renamed = {"current_password": PASSWORD, "new_username": f"{uid}.Nuevo"}
    assert (
        await svc.client.put("/users/me/username", json=renamed, headers=headers)
    ).status_code == 204

    change = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD,
    }
    weak = {**change, "new_password": "12345678", "new_password_confirmation": "12345678"}
    assert (
        await svc.client.put("/users/me/password", json=weak, headers=headers)
    ).status_code == 422
    assert (
        await svc.client.put("/users/me/password", json=change, headers=headers)
    ).status_code == 204
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 401
    fresh = await log_in(svc, f"{uid}.nuevo", NEW_PASSWORD)
    [changed] = await wait_events(svc, "PasswordChanged", user_id, 1)
    assert changed["payload"]["via"] == "profile"

    page1 = (
        await svc.client.get("/users/me/access-history", params={"size": 3}, headers=fresh)
    ).json()
    page2 = (
        await svc.client.get(
            "/users/me/access-history", params={"size": 3, "page": 2}, headers=fresh
        )
    ).json()
    kinds = [i["kind"] for i in page1["items"] + page2["items"]]
    assert kinds == [
        "login",
        "password_changed",
        "username_changed",
        "password_check_failed",  # the wrong current password, counted as a failed login
        "login",
    ]
    assert page1["total"] == 5 and page1["items"][0]["ip"] is not None


async def test_the_operator_command_grants_a_role_and_a_revocation_ends_the_sessions(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    env = {
        **os.environ,
        "MONGODB_URI": secret(svc.settings.mongodb_uri),
        "MONGODB_DATABASE": svc.settings.mongodb_database,
        "LOG_FORMAT": "text",
    }

    async def run(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "registration", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        return proc.returncode or 0, out.decode()

    code, out = await run("grant-role", form["username"], "support_agent")
    assert code == 0, out
    assert (await run("grant-role", f"{uid}.nobody", "support_agent"))[0] == 1
    assert (await run("grant-role", form["username"], "emperor"))[0] == 1
    [changed] = await wait_events(svc, "UserRolesChanged", user_id, 1)
    assert changed["payload"]["roles"] == ["support_agent"]

    headers = await log_in(svc, form["username"])
    token = headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["support_agent"]
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 200
    assert (await run("revoke-role", form["username"], "support_agent"))[0] == 0
    await wait_events(svc, "UserRolesChanged", user_id, 2)
    # The revocation ends the sessions: the token still carrying the role is refused at once.
    [revoked] = await wait_events(svc, "UserSessionsRevoked", user_id, 1)
    assert revoked["payload"]["reason"] == "operator"
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 401


async def test_start_up_refuses_a_signing_key_that_no_published_key_matches(
    infra: Endpoints, dev_keys: DevKeys, uid: str
) -> None:
    """Every token it signed would be refused everywhere: better not to start at all."""
    from secop_devinfra.keys import generate
    from secop_runtime.auth import SigningKeyMismatch

    stranger = generate(kid="someone-else").jwks
    settings = settings_for("registration", infra, dev_keys, uid, jwt_public_keys=stranger)
    with pytest.raises(SigningKeyMismatch, match="JWT_PRIVATE_KEY matches none"):
        async with run_service("registration", settings):
            pass


async def test_a_password_change_cancels_a_pending_email_change(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """Whoever moved the address with the old password cannot finish the move afterwards."""
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    headers = await log_in(svc, form["username"])
    move = {"email": f"{uid}.ladron@example.com", "current_password": PASSWORD}
    assert (await svc.client.patch("/users/me", json=move, headers=headers)).status_code == 204
    [requested] = await wait_events(svc, "ConfirmationRequested", user_id, 1)
    link = opened(dev_keys, requested, "sealed_confirmation_token")
    change = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD,
    }
    assert (
        await svc.client.put("/users/me/password", json=change, headers=headers)
    ).status_code == 204
    assert (await svc.client.post("/users/confirmation", json={"token": link})).status_code == 400
    fresh = await log_in(svc, form["username"], NEW_PASSWORD)
    me = (await svc.client.get("/users/me", headers=fresh)).json()
    assert me["email"] == form["email"] and me["pending_email"] is None


async def test_a_stolen_password_cannot_move_the_email_or_rename_the_user_silently(
    start_service, dev_keys: DevKeys, uid: str
) -> None:
    """Changing the email told nobody at the old address, so whoever held the password took
    the account (every later notice and recovery link went to the new address)."""
    svc = await start_service("registration")
    form = sign_up_form(uid)
    user_id = await confirmed_user(svc, dev_keys, form)
    headers = await log_in(svc, form["username"])
    stolen = f"{uid}.ladron@example.com"
    move = {"email": stolen, "current_password": PASSWORD}
    assert (await svc.client.patch("/users/me", json=move, headers=headers)).status_code == 204

    [asked] = await wait_events(svc, "AccountChangeNotice", user_id, 1)
    assert asked["payload"]["change"] == "email_change_requested"
    assert asked["payload"]["email"] == form["email"]  # the old address hears of it
    assert stolen not in str(asked) and asked["payload"]["new_email_hint"].endswith(".com")
    revert = opened(dev_keys, asked, "sealed_revert_token")

    [requested] = await wait_events(svc, "ConfirmationRequested", user_id, 1)
    token = opened(dev_keys, requested, "sealed_confirmation_token")
    assert (await svc.client.post("/users/confirmation", json={"token": token})).status_code == 200
    notices = await wait_events(svc, "AccountChangeNotice", user_id, 2)
    done = next(n for n in notices if n["payload"]["change"] == "email_changed")
    assert done["payload"]["email"] == form["email"]
    assert opened(dev_keys, done, "sealed_revert_token") == revert  # the same link, still live

    # Moving it again cannot take the first owner's way back: the live link is kept, and
    # the original address is told too.
    again = {"email": f"{uid}.otro@example.com", "current_password": PASSWORD}
    assert (await svc.client.patch("/users/me", json=again, headers=headers)).status_code == 204
    notices = await wait_events(svc, "AccountChangeNotice", user_id, 4)
    told = {n["payload"]["email"] for n in notices[-2:]}
    assert told == {form["email"], stolen}
    assert {opened(dev_keys, n, "sealed_revert_token") for n in notices[-2:]} == {revert}

    # The attacker had sent themselves a reset link: the revert kills it with the password.
    assert (
        await svc.client.post("/recovery/password", json={"username": form["username"]})
    ).status_code == 202
    [their_reset] = await wait_events(svc, "PasswordResetRequested", user_id, 1)
    assert their_reset["payload"]["email"] == stolen

    page = await svc.client.get("/RevertEmail", params={"token": revert})
    assert page.status_code == 200 and form["email"] in page.text
    undone = await svc.client.post("/users/email/revert", json={"token": revert})
    assert undone.status_code == 204, undone.text
    assert (await svc.client.get("/users/me", headers=headers)).status_code == 401  # sessions end
    stale = opened(dev_keys, their_reset, "sealed_reset_token")
    refused = await svc.client.post(
        "/recovery/password/reset",
        json={
            "token": stale,
            "new_password": NEW_PASSWORD,
            "new_password_confirmation": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 400
    old_password = await svc.client.post(
        "/sessions", json={"username": form["username"], "password": PASSWORD}
    )
    assert old_password.status_code == 401  # whoever moved the email knew it
    [revoked] = await wait_events(svc, "UserSessionsRevoked", user_id, 1)
    assert revoked["payload"]["reason"] == "email_reverted"
    resets = await wait_events(svc, "PasswordResetRequested", user_id, 2)
    fresh = resets[-1]["payload"]
    assert fresh["reason"] == "email_reverted" and fresh["email"] == form["email"]
    set_new = await svc.client.post(
        "/recovery/password/reset",
        json={
            "token": opened(dev_keys, resets[-1], "sealed_reset_token"),
            "new_password": NEW_PASSWORD,
            "new_password_confirmation": NEW_PASSWORD,
        },
    )
    assert set_new.status_code == 204, set_new.text
    me = (
        await svc.client.get("/users/me", headers=await log_in(svc, form["username"], NEW_PASSWORD))
    ).json()
    assert me["email"] == form["email"] and me["pending_email"] is None
    notices = await wait_events(svc, "AccountChangeNotice", user_id, 6)
    reverted = [n["payload"] for n in notices if n["payload"]["change"] == "email_change_reverted"]
    assert {n["email"] for n in reverted} == {form["email"], stolen}  # both addresses told
    assert (await svc.client.post("/users/email/revert", json={"token": revert})).status_code == 400
    assert "no es válido" in (await svc.client.get("/RevertEmail", params={"token": revert})).text

    # A new username is announced to the owner's address too.
    headers = await log_in(svc, form["username"], NEW_PASSWORD)
    rename = {"current_password": NEW_PASSWORD, "new_username": f"{uid}.nuevo"}
    assert (
        await svc.client.put("/users/me/username", json=rename, headers=headers)
    ).status_code == 204
    notices = await wait_events(svc, "AccountChangeNotice", user_id, 7)
    renamed = notices[-1]["payload"]
    assert renamed["change"] == "username_changed" and renamed["email"] == form["email"]
    assert renamed["previous_username"] == form["username"]
    assert renamed["username"] == f"{uid}.nuevo"
