"""Reading and editing one's own data and credentials, and the access history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from secop_contracts.registration import (
    ConfirmationRequested,
    PasswordResetRequested,
    UserProfileUpdated,
    UserSessionsRevoked,
)

from registration.adapters.users import Taken
from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.tokens import TokenProblem, issue
from registration.service_layer.context import Client, Services
from registration.service_layer.errors import Invalid, Throttled, TokenRefused
from registration.service_layer.password_checks import check_password
from registration.service_layer.recovery import replace_password
from registration.service_layer.signup import (
    CONFIRM_FIELDS,
    REVERT_FIELDS,
    change_notice,
    notices,
    person,
    revert_link,
    spend_link,
    tell_holder,
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

    A new email or ID document also needs the current password: recovery sends its links to
    the email and finds users by document, so a stolen session could otherwise take the
    account. Whether an email is someone else's never shows here (the link, or the holder's
    notice, goes to that address); a document that is someone else's answers 409 (the desk
    settles disputes), at most ``DOCUMENT_CHANGES_PER_DAY`` times a day, and its holder is told."""
    now = s.now()
    user_id = user["_id"]
    new_email = changes.pop("email", None)
    if new_email and identity.email_key(new_email) == user["email_key"]:
        new_email = None
    sets = {k: v for k, v in changes.items() if k != "security_answer" and user.get(k) != v}
    new_document = "document_type" in sets or "document_number" in sets
    if new_email or new_document:
        if current_password is None:
            what = "email" if new_email else "ID document"
            raise Invalid("current_password", f"changing the {what} asks for your current password")
        await _check_current(s, user, current_password, client)
    if new_document:
        await _document_change_allowed(s, user_id, now)
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
    if new_email:
        sets |= {"pending_email": new_email, "confirm_kind": "email_change"}
        revert = revert_link(s, user, now)
        sets |= revert.fields
        events += notices(s, user, "email_change_requested", now, new_email, revert)
        [holder] = await s.users.holders(identity.email_key(new_email), None) or [None]
        if holder is None or holder["_id"] == user_id:
            token = issue(now, s.settings.confirmation_ttl_s)
            sets |= {
                "confirm_hash": token.hash,
                "confirm_expires_at": token.expires_at,
                "confirm_email": new_email,
            }
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
        else:  # the address is a confirmed user's: they are told, and no link can work
            await tell_holder(s, holder, ["email"], now)
    if sets:
        try:
            await s.users.update(user_id, {"$set": sets}, *events)
        except Taken as taken:
            if taken.field == "document_number":
                holder = await s.users.holder_of("document_key", sets["document_key"])
                if holder is not None:
                    await tell_holder(s, holder, ["document_number"], now)
            raise


#: A confirmed user may change their ID document this often (each try counts).
DOCUMENT_CHANGES_PER_DAY = 3


async def _document_change_allowed(s: Services, user_id: str, now: datetime) -> None:
    """Each change of ID document may collide with someone's (409): few a day, so an account
    is no way to test which documents are registered."""
    day = timedelta(days=1)
    recent = [t for t in await s.sends.recent(user_id, "document_change") if now - t < day]
    if len(recent) >= DOCUMENT_CHANGES_PER_DAY:
        retry = min(recent) + day - now
        raise Throttled(max(1, int(retry.total_seconds())), "too many ID document changes today")
    await s.sends.claim(user_id, "document_change", now, 0, keep_s=int(day.total_seconds()))


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
    await s.record(user["_id"], "username_changed", client, s.now())


async def revert_email_change(s: Services, token: str, client: Client) -> None:
    """The link sent to the old address: the account gets that address back, any pending
    change is cancelled, and whoever moved it is shut out: every session ends, the password
    stops working (and any reset link with it) until the owner sets a new one from the link
    sent now to the restored address. Both addresses are told."""
    user = await spend_link(s, "revert_hash", token)
    now = s.now()
    user_id, old = user["_id"], user["revert_email"]
    restore = identity.email_key(old) != user["email_key"]
    if restore and await s.users.taken_field({"email_key": identity.email_key(old)}, user_id):
        raise Taken("email")  # someone confirmed that address since: the desk must help
    if not await s.used_tokens.spend(user["revert_hash"], user_id, now):
        raise TokenRefused(TokenProblem.USED)
    reset = issue(now, s.settings.reset_ttl_s)
    sets: dict[str, Any] = {
        "sessions_revoked_before": now,
        "reset_hash": reset.hash,
        "reset_expires_at": reset.expires_at,
    }
    unset = dict.fromkeys((*REVERT_FIELDS, "password_hash"), "")
    restored = {**user, "email": old}
    events: list[Any] = []
    if restore:
        sets |= {"email": old, "email_key": identity.email_key(old)}
        events.append(_updated(s, restored, ["email"]))
        # The address being replaced hears of it too.
        events.append(change_notice(s, user, "email_change_reverted", now, new_email=old))
    if user.get("confirm_kind") == "email_change":
        unset |= dict.fromkeys((*CONFIRM_FIELDS, "pending_email"), "")
    events += [
        s.event(
            UserSessionsRevoked,
            {"user_id": user_id, "revoked_before": now, "reason": "email_reverted"},
        ),
        change_notice(s, restored, "email_change_reverted", now, new_email=old),
        s.event(
            PasswordResetRequested,
            {
                **person(restored),
                "sealed_reset_token": s.seal(reset.plain),
                "expires_at": reset.expires_at,
                "reason": "email_reverted",
            },
        ),
    ]
    await s.users.update(
        user_id,
        {"$set": sets, "$unset": unset},
        *events,
        only_if={"revert_hash": user["revert_hash"]},
    )
    await s.sessions.end_all(user_id, now)
    await s.record(user_id, "email_reverted", client, now)


async def access_history(
    s: Services, user_id: str, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    items, total = await s.history.page(user_id, page, size)
    keep = ("at", "kind", "ip", "user_agent")
    return [{k: item.get(k) for k in keep} for item in items], total
