"""Platform roles granted by an operator (e.g. ``support_agent``); tokens carry them from the
next login on. A revocation also ends every session of the user at once: support trusts the
roles a token carries, so a token issued before must not outlive the role."""

from __future__ import annotations

from datetime import UTC, datetime

from registration.adapters.users import UserStore
from registration.service_layer.envelopes import envelop

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
    now = datetime.now(UTC)
    changed = await users.change(
        user.id, lambda u: envelop(producer, u.set_role(role, grant=grant, now=now))
    )
    return changed.roles
