"""Reading and editing one's own data and credentials, and the access history."""

from __future__ import annotations

from typing import Any

from secop_contracts.registration import (
    ConfirmationRequested,
    UserProfileUpdated,
    UserSessionsRevoked,
)

from registration.adapters.users import Taken
from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.tokens import TokenProblem, issue
from registration.service_layer.context import Client, Services
from registration.service_layer.errors import Invalid, TokenRefused
from registration.service_layer.password_checks import check_password
from registration.service_layer.recovery import replace_password
from registration.service_layer.signup import (
    CONFIRM_FIELDS,
    REVERT_FIELDS,
    change_notice,
    person,
    revert_link,
    spend_link,
)

PUBLIC_FIELDS = (
    "username",
    "full_name",
    "email",
    "pending_email",
    "country",
    "document_type",
    "document_number",
    "mobile_phone",
    "time_zone",
    "account_name",
    "security_question",
    "status",
    "roles",
    "registered_at",
    "confirmed_at",
)


def profile(user: dict[str, Any]) -> dict[str, Any]:
    """What the user may read about themselves (no hash, no token)."""
    return {"user_id": user["_id"], **{k: user.get(k) for k in PUBLIC_FIELDS}}


def _updated(s: Services, user: dict[str, Any], changed: list[str]) -> Any:
    return s.event(
        UserProfileUpdated,
        {
            **person(user),
            "changed_fields": changed,
            "mobile_phone": user["mobile_phone"],
            "updated_at": s.now(),
        },
    )


async def update_profile(
    s: Services,
    user: dict[str, Any],
    changes: dict[str, Any],
    current_password: str | None,
    client: Client,
) -> None:
    """Apply normalised ``changes``; a new email waits for confirmation from a link sent to it.

    A new email also needs the current password: password recovery sends its links there, so
    a stolen session could otherwise move the address and then reset the password."""
    now = s.now()
    user_id = user["_id"]
    new_email = changes.pop("email", None)
    if new_email and identity.email_key(new_email) != user["email_key"]:
        if current_password is None:
            raise Invalid("current_password", "changing the email asks for your current password")
        await _check_current(s, user, current_password, client)
    sets = {k: v for k, v in changes.items() if k != "security_answer" and user.get(k) != v}
    if "document_type" in sets or "document_number" in sets:
        merged = {**user, **sets}
        sets["document_key"] = identity.document_key(
            merged["document_type"], merged["document_number"]
        )
    if changes.get("security_answer"):
        answer = identity.normalise_answer(changes["security_answer"])
        sets["security_answer_hash"] = await s.hasher.hash(answer)
    events: list[Any] = []
    changed = sorted(k.removesuffix("_hash") for k in sets if k != "document_key")
    if changed:
        events.append(_updated(s, {**user, **sets}, changed))
    if new_email and identity.email_key(new_email) != user["email_key"]:
        if await s.users.taken_field({"email_key": identity.email_key(new_email)}, user_id):
            raise Taken("email")
        token = issue(now, s.settings.confirmation_ttl_s)
        sets |= {
            "pending_email": new_email,
            "confirm_hash": token.hash,
            "confirm_expires_at": token.expires_at,
            "confirm_kind": "email_change",
            "confirm_email": new_email,
        }
        revert = revert_link(s, user, now)
        sets |= revert.fields
        events.append(
            change_notice(
                s, user, "email_change_requested", now, new_email=new_email, revert=revert
            )
        )
        events.append(
            s.event(
                ConfirmationRequested,
                {
                    **person({**user, "email": new_email}),
                    "account_name": user.get("account_name", ""),
                    "reason": "email_change",
                    "sealed_confirmation_token": s.seal(token.plain),
                    "expires_at": token.expires_at,
                },
            )
        )
    if sets:
        await s.users.update(user_id, {"$set": sets}, *events)
        s.runtime.kick()


async def _check_current(
    s: Services, user: dict[str, Any], current_password: str, client: Client
) -> None:
    """Counted with the user's logins (same gate and lease): a signed-in session must not be a
    way around the login throttle to guess the password."""
    if not await check_password(
        s, user, current_password, client, s.now(), "password_check_failed"
    ):
        raise Invalid("current_password", "the current password is not correct", status=400)


async def change_password(
    s: Services, user: dict[str, Any], current_password: str, new_password: str, client: Client
) -> None:
    await _check_current(s, user, current_password, client)
    problem = password_problem(
        new_password, s.policy, username=user["username"], email=user["email"]
    )
    if problem:
        raise Invalid("new_password", problem)
    await replace_password(s, user, new_password, "profile", client)


async def change_username(
    s: Services, user: dict[str, Any], current_password: str, new_username: str, client: Client
) -> None:
    await _check_current(s, user, current_password, client)
    if new_username == user["username"]:
        return
    now = s.now()
    renamed = {**user, "username": new_username}
    events = [
        _updated(s, renamed, ["username"]),
        change_notice(s, renamed, "username_changed", now, previous_username=user["username"]),
    ]
    await s.users.update(user["_id"], {"$set": {"username": new_username}}, *events)
    s.runtime.kick()
    await s.record(user["_id"], "username_changed", client, s.now())


async def revert_email_change(s: Services, token: str, client: Client) -> None:
    """The link sent to the old address: the account gets that address back, any pending
    change is cancelled, and every session ends (whoever moved it knew the password)."""
    user = await spend_link(s, "revert_hash", token)
    now = s.now()
    user_id, old = user["_id"], user["revert_email"]
    restore = identity.email_key(old) != user["email_key"]
    if restore and await s.users.taken_field({"email_key": identity.email_key(old)}, user_id):
        raise Taken("email")  # someone confirmed that address since: the desk must help
    if not await s.used_tokens.spend(user["revert_hash"], user_id, now):
        raise TokenRefused(TokenProblem.USED)
    sets: dict[str, Any] = {"sessions_revoked_before": now}
    unset = dict.fromkeys(REVERT_FIELDS, "")
    restored = {**user, "email": old}
    events: list[Any] = []
    if restore:
        sets |= {"email": old, "email_key": identity.email_key(old)}
        events.append(_updated(s, restored, ["email"]))
    if user.get("confirm_kind") == "email_change":
        unset |= dict.fromkeys((*CONFIRM_FIELDS, "pending_email"), "")
    events += [
        s.event(
            UserSessionsRevoked,
            {"user_id": user_id, "revoked_before": now, "reason": "email_reverted"},
        ),
        change_notice(s, restored, "email_change_reverted", now),
    ]
    await s.users.update(
        user_id,
        {"$set": sets, "$unset": unset},
        *events,
        only_if={"revert_hash": user["revert_hash"]},
    )
    s.runtime.kick()
    await s.sessions.end_all(user_id, now)
    await s.record(user_id, "email_reverted", client, now)


async def access_history(
    s: Services, user_id: str, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    items, total = await s.history.page(user_id, page, size)
    keep = ("at", "kind", "ip", "user_agent")
    return [{k: item.get(k) for k in keep} for item in items], total
