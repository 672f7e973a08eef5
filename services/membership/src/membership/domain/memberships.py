"""Memberships: a user's link to an account, its status machine and the roles inside it.

An account's memberships are kept inside the account's own document (its roster, see
``domain.accounts``), not one document each: two of the rules span memberships ("the account
keeps at least one administrator", "one live membership per user"), and only a single
document's version can arbitrate between two administrators cancelling each other at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from secop_runtime.errors import Conflict

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
LAST_ADMINISTRATOR = "the account must keep at least one administrator: appoint another one first"


class TransitionRefused(Conflict):
    """The action does not apply to the membership's status."""


def next_status(action: str, current: str) -> str:
    source, target, _ = TRANSITIONS[action]
    if current != source:
        raise TransitionRefused(
            f"cannot {action.replace('-', ' ')} a membership that is {current}: "
            f"only a {source} one",
            status=current,
        )
    return target


class Membership(BaseModel):
    """One request to join an account and what became of it (history stays: a user asking
    again after a rejection or a cancellation starts a new membership)."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    membership_id: str
    user_id: str
    status: str
    roles: list[str] = []
    requested_at: datetime
    status_changed_at: datetime
    accepted_at: datetime | None = None
    roles_changed_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    founder: bool = False
    #: The account's notices this member chose (``domain.notices``); None: their role's defaults.
    notices: list[str] | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def administers(self) -> bool:
        return self.status == ACCEPTED and ADMINISTRATOR in self.roles

    def apply(
        self, action: str, by: str, at: datetime, roles: list[str] | None, reason: str
    ) -> None:
        """accept (with roles), reject (with a reason), cancel, or revert a rejection."""
        self.status = next_status(action, self.status)
        self.status_changed_at, self.decided_by = at, by
        if action == "accept":
            self.roles, self.accepted_at = sorted(set(roles or [])), at
        if action == "reject":
            self.reason = reason


def latest(members: Sequence[Membership], user_id: str) -> Membership | None:
    """The user's live membership, else their most recent one."""
    mine = [m for m in members if m.user_id == user_id]
    live = [m for m in mine if m.live]
    return (live or sorted(mine, key=lambda m: m.requested_at))[-1] if mine else None


def administrators(members: Sequence[Membership]) -> list[str]:
    return [m.user_id for m in members if m.administers]


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
