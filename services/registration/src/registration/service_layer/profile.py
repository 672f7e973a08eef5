"""Reading and editing one's own data and credentials, and the access history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from secop_runtime.aggregates import Duplicate
from secop_runtime.errors import Invalid, Throttled

from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.user import Edit, User
from registration.service_layer.context import Client, Context
from registration.service_layer.errors import Taken, WrongCurrentPassword
from registration.service_layer.holders import holder_of, tell_holder
from registration.service_layer.password_checks import check_password
from registration.service_layer.recovery import replace_password

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
#: A confirmed user may change their ID document this often (each try counts).
DOCUMENT_CHANGES_PER_DAY = 3


def profile(user: User) -> dict[str, Any]:
    """What the user may read about themselves (no hash, no token)."""
    return {"user_id": user.id, **{k: getattr(user, k) for k in PUBLIC_FIELDS}}


async def update_profile(
    s: Context, user: User, changes: dict[str, Any], current_password: str | None, client: Client
) -> None:
    """Apply normalised ``changes``; a new email waits for confirmation from a link sent to it.

    A new email or ID document also needs the current password: recovery sends its links to
    the email and finds users by document, so a stolen session could otherwise take the
    account. Whether an email is someone else's never shows here (the link, or the holder's
    notice, goes to that address); a document that is someone else's answers 409 (the desk
    settles disputes), at most ``DOCUMENT_CHANGES_PER_DAY`` times a day, and its holder is told."""
    now, plan = s.now(), user.plan_edit(changes)
    await _allowed(s, user, plan, current_password, client, now)
    answer = changes.get("security_answer")
    answer_hash = await s.hasher.hash(identity.normalise_answer(answer)) if answer else None
    revert = link = None
    if plan.new_email:
        revert = s.link(now, s.settings.email_revert_ttl_s, user.id)
        holder = await holder_of(s.users, "email_key", identity.email_key(plan.new_email))
        if holder is None or holder.id == user.id:
            link = s.link(now, s.settings.confirmation_ttl_s, user.id)
        else:  # the address is a confirmed user's: they are told, and no link can work
            await tell_holder(s, holder, ["email"], now)

    def decide(u: User) -> Any:
        return s.events(u.edit(changes, now, answer_hash=answer_hash, revert=revert, link=link))

    try:
        await s.users.change(user.id, decide)
    except Duplicate:  # only the document is a unique key an edit changes
        await _tell_document_holder(s, user, plan, now)
        raise Taken("document_number") from None


async def _allowed(
    s: Context, user: User, plan: Edit, current_password: str | None, client: Client, now: datetime
) -> None:
    if plan.needs_password:
        if current_password is None:
            what = "email" if plan.new_email else "ID document"
            message = f"changing the {what} asks for your current password"
            raise Invalid(message, field="current_password")
        await check_current(s, user, current_password, client)
    if plan.new_document:
        await _document_change_allowed(s, user.id, now)


async def _tell_document_holder(s: Context, user: User, plan: Edit, now: datetime) -> None:
    kind = plan.sets.get("document_type", user.document_type)
    number = plan.sets.get("document_number", user.document_number)
    holder = await holder_of(s.users, "document_key", identity.document_key(kind, number))
    if holder is not None:
        await tell_holder(s, holder, ["document_number"], now)


async def _document_change_allowed(s: Context, user_id: str, now: datetime) -> None:
    """Each change of ID document may collide with someone's (409): few a day, so an account
    is no way to test which documents are registered."""
    day = timedelta(days=1)
    seen = await s.sends.recent(user_id, "document_change")
    recent = [t for t in seen.times if now - t < day]
    if len(recent) >= DOCUMENT_CHANGES_PER_DAY:
        retry = min(recent) + day - now
        raise Throttled("too many ID document changes today", max(1, int(retry.total_seconds())))
    if not await s.sends.claim(
        user_id, "document_change", now, seen, keep_s=int(day.total_seconds())
    ):
        raise Throttled("another change of your ID document is in progress: try again", 1)


async def check_current(s: Context, user: User, current_password: str, client: Client) -> None:
    """Counted with the user's logins (same gate and lease): a signed-in session must not be a
    way around the login throttle to guess the password."""
    if not await check_password(
        s, user, current_password, client, s.now(), "password_check_failed"
    ):
        raise WrongCurrentPassword


async def change_password(
    s: Context, user: User, current_password: str, new_password: str, client: Client
) -> None:
    await check_current(s, user, current_password, client)
    problem = password_problem(new_password, s.policy, username=user.username, email=user.email)
    if problem:
        raise Invalid(problem, field="new_password")
    await replace_password(s, user, new_password, "profile", client)


async def change_username(
    s: Context, user: User, current_password: str, new_username: str, client: Client
) -> None:
    await check_current(s, user, current_password, client)
    if new_username == user.username:
        return
    now = s.now()
    try:
        await s.users.change(user.id, lambda u: s.events(u.rename(new_username, now)))
    except Duplicate:
        raise Taken("username") from None
    await s.record(user.id, "username_changed", client, s.now())


async def access_history(
    s: Context, user_id: str, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    items, total = await s.history.page(user_id, page, size)
    keep = ("at", "kind", "ip", "user_agent")
    return [{k: item.get(k) for k in keep} for item in items], total
