"""Platform roles granted by an operator (e.g. ``support_agent``); tokens carry them from the
next login on. A revocation also ends every session of the user at once: support trusts the
roles a token carries, so a token issued before must not outlive the role."""

from __future__ import annotations

from datetime import UTC, datetime

from secop_contracts.registration import UserRolesChanged, UserSessionsRevoked
from secop_runtime.events import new_event

from registration.adapters.users import UserStore

ROLES = frozenset({"support_agent"})


class UnknownUser(LookupError):
    pass


async def set_role(
    users: UserStore, producer: str, username: str, role: str, *, grant: bool
) -> list[str]:
    """Grant or revoke ``role``; returns the user's roles afterwards (no event if unchanged)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known roles: {', '.join(sorted(ROLES))}")
    user = await users.find_one(username=username.strip().lower())
    if user is None:
        raise UnknownUser(username)
    before = set(user.get("roles", []))
    after = sorted(before | {role} if grant else before - {role})
    if set(after) == before:
        return after
    now = datetime.now(UTC)
    events = [
        new_event(
            UserRolesChanged,
            producer,
            {"user_id": user["_id"], "roles": after, "changed_by": "operator", "changed_at": now},
        )
    ]
    update: dict[str, object] = {"roles": after}
    if not grant:
        events.append(
            new_event(
                UserSessionsRevoked,
                producer,
                {"user_id": user["_id"], "revoked_before": now, "reason": "operator"},
            )
        )
        update["sessions_revoked_before"] = now
    await users.update(user["_id"], {"$set": update}, *events)
    return after
