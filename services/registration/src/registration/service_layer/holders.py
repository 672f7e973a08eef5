"""Who holds a unique key, and telling a confirmed user that someone tried to use theirs.

Unique indexes decide; these look-ups only name the field a refusal is about (the database's
error does not always say which index refused) and find whom to tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from registration.adapters.users import UserStore
from registration.domain.user import User
from registration.domain.user_state import UNIQUE_FIELDS
from registration.service_layer.context import Context


async def taken_field(users: UserStore, keys: Mapping[str, str], user_id: str) -> str | None:
    """Which of ``keys`` (unique key -> value) another user holds, as the request names it."""
    for key, field in UNIQUE_FIELDS.items():
        if key in keys:
            other = await users.find_one(**{key: keys[key]})
            if other is not None and other.id != user_id:
                return field
    return None


async def holder_of(users: UserStore, key: str, value: str) -> User | None:
    """The confirmed user whose unique ``key`` is ``value`` (pending sign-ups hold nothing)."""
    user = await users.find_one(**{key: value})
    return user if user is not None and user.confirmed else None


async def holders(
    users: UserStore, email_key: str, document_key: str
) -> list[tuple[User, list[str]]]:
    """Confirmed users holding this email or document, each with what they hold."""
    found: dict[str, tuple[User, list[str]]] = {}
    for key, field, value in (
        ("email_key", "email", email_key),
        ("document_key", "document_number", document_key),
    ):
        holder = await holder_of(users, key, value)
        if holder is not None:
            found.setdefault(holder.id, (holder, []))[1].append(field)
    return list(found.values())


async def tell_holder(s: Context, holder: User, matched: list[str], now: datetime) -> None:
    """Someone tried to use a confirmed user's email or document: tell them (at most one
    notice a minute, five an hour)."""
    if await s.may_email(holder.id, "sign_up_attempt", now):
        await s.users.change(holder.id, lambda u: s.events(u.note_sign_up_attempt(matched, now)))
