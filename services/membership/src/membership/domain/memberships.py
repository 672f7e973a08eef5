"""Memberships: a user's link to an account, its status machine and the roles inside it."""

from __future__ import annotations

PENDING, ACCEPTED, REJECTED, CANCELLED = "pending", "accepted", "rejected", "cancelled"
STATUSES = (PENDING, ACCEPTED, REJECTED, CANCELLED)
LIVE = frozenset({PENDING, ACCEPTED})

ADMINISTRATOR, BUYER, SUPPLIER = "administrator", "buyer", "supplier"

#: action -> (the only status it applies to, the status it leads to, AccessDecided.decision)
TRANSITIONS: dict[str, tuple[str, str, str]] = {
    "accept": (PENDING, ACCEPTED, "accepted"),
    "reject": (PENDING, REJECTED, "rejected"),
    "cancel": (ACCEPTED, CANCELLED, "cancelled"),
    "revert-rejection": (REJECTED, PENDING, "reverted"),
}


class TransitionRefused(ValueError):
    """The action does not apply to the membership's status (HTTP 409)."""


def next_status(action: str, current: str) -> str:
    source, target, _ = TRANSITIONS[action]
    if current != source:
        raise TransitionRefused(
            f"cannot {action.replace('-', ' ')} a membership that is {current}: only a {source} one"
        )
    return target


def allowed_roles(kind: str, mixed_profile: bool = False) -> frozenset[str]:
    """Administrators plus buyers (entities) or suppliers (suppliers, mixed-profile entities)."""
    if kind == "supplier":
        return frozenset({ADMINISTRATOR, SUPPLIER})
    return frozenset({ADMINISTRATOR, BUYER, SUPPLIER} if mixed_profile else {ADMINISTRATOR, BUYER})


def roles_error(roles: list[str], kind: str, mixed_profile: bool = False) -> str | None:
    if not roles:
        return "give at least one role"
    allowed = allowed_roles(kind, mixed_profile)
    unknown = sorted(set(roles) - allowed)
    if unknown:
        names = ", ".join(sorted(allowed))
        return f"not a role of this account: {', '.join(unknown)} (allowed: {names})"
    return None


def founder_roles(natural_person: bool) -> list[str]:
    """The registering user administers the account; a natural person is its supplier too."""
    return [ADMINISTRATOR, SUPPLIER] if natural_person else [ADMINISTRATOR]


def loses_last_admin(administrators: set[str], user_id: str, new_roles: list[str] | None) -> bool:
    """Would this change (cancel: ``new_roles`` None) leave the account with no administrator?"""
    if user_id not in administrators:
        return False
    if new_roles is not None and ADMINISTRATOR in new_roles:
        return False
    return len(administrators) <= 1
