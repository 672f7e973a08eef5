"""How the user's events name them, and the notices that tell the owner of a change.

Pure builders of the contracts' payloads: the aggregate (``user.py``) decides when each is due.
No event ever carries a secret; link tokens travel only sealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from secop_contracts.registration import AccountChangeNoticePayload, UserProfileUpdatedPayload

from registration.domain.identity import email_hint

if TYPE_CHECKING:
    from registration.domain.user_state import UserState

Change = Literal[
    "email_change_requested", "email_changed", "email_change_reverted", "username_changed"
]


@dataclass(frozen=True)
class RevertLink:
    """A link that puts back the address an account had before its first email change in
    the link's life and ends every session. Kept sealed on the user (only notification can
    open it), and never replaced while it lives: whoever moves the address again cannot take
    the original owner's way back."""

    sealed: str
    expires_at: datetime
    email: str


def person(user: UserState, **override: Any) -> dict[str, Any]:
    """How events name a user (never a secret); ``override`` e.g. the address a notice goes
    to when it is not the current one."""
    return {
        "user_id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "time_zone": user.time_zone,
        **override,
    }


def profile_updated(
    user: UserState, changed: list[str], now: datetime
) -> UserProfileUpdatedPayload:
    return UserProfileUpdatedPayload(
        **person(user), changed_fields=changed, mobile_phone=user.mobile_phone, updated_at=now
    )


def change_notice(
    to: dict[str, Any],
    change: Change,
    now: datetime,
    *,
    new_email: str | None = None,
    previous_username: str | None = None,
    revert: RevertLink | None = None,
) -> AccountChangeNoticePayload:
    """The owner's notice of a change, addressed to ``to["email"]`` (a :func:`person`)."""
    return AccountChangeNoticePayload(
        **to,
        change=change,
        new_email_hint=email_hint(new_email) if new_email else None,
        previous_username=previous_username,
        sealed_revert_token=revert.sealed if revert else None,
        revert_expires_at=revert.expires_at if revert else None,
        restores_email_hint=email_hint(revert.email) if revert else None,
        changed_at=now,
    )
