"""Moving a user's email, and the way back (rules of :class:`~registration.domain.user.User`).

A stolen password must not move an account silently: the address the account had hears of
every move with a link that puts it back, and that link is never replaced while it lives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from secop_contracts.envelope import Payload
from secop_contracts.registration import (
    ConfirmationRequestedPayload,
    PasswordResetRequestedPayload,
    UserConfirmedPayload,
    UserSessionsRevokedPayload,
)

from registration.domain import identity
from registration.domain.notices import Change, RevertLink, change_notice, person, profile_updated
from registration.domain.tokens import Link, check
from registration.domain.user_state import UserState


class EmailChanges(UserState):
    def _keep_revert(self, now: datetime, fresh: Link) -> RevertLink:
        """The live revert link, or ``fresh`` for the current address."""
        live = self.revert_expires_at
        if self.revert_sealed and self.revert_email and live and check(live, now) is None:
            return RevertLink(self.revert_sealed, live, self.revert_email)
        self.revert_hash, self.revert_expires_at = fresh.hash, fresh.expires_at
        self.revert_email, self.revert_sealed = self.email, fresh.sealed
        return RevertLink(fresh.sealed, fresh.expires_at, self.email)

    @staticmethod
    def _email_notices(
        to: dict[str, Any], change: Change, now: datetime, new_email: str, revert: RevertLink
    ) -> list[Payload]:
        """An email change told to the address the account had until now and, if the live
        way back restores an older one, to that address too (it holds the way back)."""
        told: list[Payload] = [change_notice(to, change, now, new_email=new_email, revert=revert)]
        if identity.email_key(revert.email) != identity.email_key(to["email"]):
            older = {**to, "email": revert.email}
            told.append(change_notice(older, change, now, new_email=new_email, revert=revert))
        return told

    def _confirm_email_change(self, now: datetime, fresh: Link) -> list[Payload]:
        before, email = person(self), self.confirm_email or self.email
        revert = self._keep_revert(now, fresh)
        events = self._email_notices(before, "email_changed", now, email, revert)
        self.email, self.email_key, self.pending_email = email, identity.email_key(email), None
        self._end_confirmation()
        return [
            *events,
            profile_updated(self, ["email"], now),
            UserConfirmedPayload(**person(self), confirmed_at=now),
        ]

    def request_email_change(
        self, to: dict[str, Any], new_email: str, now: datetime, revert: Link, link: Link | None
    ) -> list[Payload]:
        """A new address waits for its link (``link``; None when the address is a confirmed
        user's, who is told instead). The current address hears of it, with the way back."""
        self.pending_email, self.confirm_kind = new_email, "email_change"
        events = self._email_notices(
            to, "email_change_requested", now, new_email, self._keep_revert(now, revert)
        )
        if link is not None:
            self.confirm_hash, self.confirm_expires_at = link.hash, link.expires_at
            self.confirm_email = new_email
            requested = ConfirmationRequestedPayload(
                **{**to, "email": new_email},
                account_name=self.account_name,
                reason="email_change",
                sealed_confirmation_token=link.sealed,
                expires_at=link.expires_at,
            )
            events.append(requested)
        return events

    def restores_email_key(self) -> str | None:
        """The key the revert link would take back, if it is not the current one."""
        key = identity.email_key(self.revert_email or self.email)
        return key if key != self.email_key else None

    def revert_email_change(self, digest: str, now: datetime, reset: Link) -> list[Payload]:
        """The way back: the old address returns, a pending change is cancelled, and whoever
        moved it is shut out: every session ends and the password stops working (with any
        reset link) until the owner sets one from ``reset``, sent to the restored address."""
        self._require_current("revert", digest)
        old = self.revert_email or self.email
        before, restored = person(self), person(self, email=old)
        events: list[Payload] = []
        if self.restores_email_key():
            self.email, self.email_key = old, identity.email_key(old)
            events.append(profile_updated(self, ["email"], now))
            # The address being replaced hears of it too.
            events.append(change_notice(before, "email_change_reverted", now, new_email=old))
        if self.confirm_kind == "email_change":
            self._end_confirmation()
            self.pending_email = None
        self.revert_hash = self.revert_expires_at = self.revert_email = self.revert_sealed = None
        self.password_hash, self.sessions_revoked_before = None, now
        self.reset_hash, self.reset_expires_at = reset.hash, reset.expires_at
        return [
            *events,
            UserSessionsRevokedPayload(
                user_id=self.id, revoked_before=now, reason="email_reverted"
            ),
            change_notice(restored, "email_change_reverted", now, new_email=old),
            PasswordResetRequestedPayload(
                **restored,
                sealed_reset_token=reset.sealed,
                expires_at=reset.expires_at,
                reason="email_reverted",
            ),
        ]
