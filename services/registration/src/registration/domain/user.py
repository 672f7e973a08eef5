"""A user and the rules that change them: sign-up, confirmation, credentials, own data.

Each rule changes the user and returns the payloads of the events it causes; the service layer
stores both in one write (``secop_runtime.aggregates``). What a user holds and its states:
``user_state.py``; moving the email: ``email_change.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from secop_contracts.envelope import Payload
from secop_contracts.registration import (
    ConfirmationRequestedPayload,
    PasswordChangedPayload,
    PasswordResetRequestedPayload,
    SignUpAttemptedPayload,
    UserConfirmedPayload,
    UsernameRecoveryRequestedPayload,
    UserRegisteredPayload,
    UserRolesChangedPayload,
    UserSessionsRevokedPayload,
)

from registration.domain import identity
from registration.domain.email_change import EmailChanges
from registration.domain.notices import change_notice, person, profile_updated
from registration.domain.tokens import Link
from registration.domain.user_state import ACTIVE, PENDING, UNCLAIMED

AskedBy = Literal["document_number", "email", "mobile_phone", "username", "support_case"]


@dataclass(frozen=True)
class Edit:
    """What an edit of one's own data changes (``User.plan_edit``)."""

    sets: dict[str, Any] = field(default_factory=dict)
    new_email: str | None = None

    @property
    def new_document(self) -> bool:
        return "document_type" in self.sets or "document_number" in self.sets

    @property
    def needs_password(self) -> bool:
        """Recovery sends its links to the email and finds users by document: changing
        either is changing a credential."""
        return bool(self.new_email) or self.new_document


class User(EmailChanges):
    # -- signing up and confirming ----------------------------------------------------------
    @classmethod
    def sign_up(
        cls,
        user_id: str,
        details: Mapping[str, str],
        *,
        hashes: tuple[str, str],
        now: datetime,
        link: Link,
        email_held: bool,
    ) -> tuple[User, list[Payload]]:
        """A pending user from a sign-up form's ``details`` (no secret among them) and the
        hashes of its password and security answer. ``email_held``: the address is a
        confirmed user's, so a link there could only fail: none is issued (the holder is
        told instead), and the sign-up keeps its username until it expires like any other."""
        user = cls(
            id=user_id,
            **details,
            email_key=f"{UNCLAIMED}{user_id}",
            document_key=f"{UNCLAIMED}{user_id}",
            claim_email_key=identity.email_key(details["email"]),
            claim_document_key=identity.document_key(
                details["document_type"], details["document_number"]
            ),
            status=PENDING,
            registered_at=now,
            password_hash=hashes[0],
            security_answer_hash=hashes[1],
            pending_until=link.expires_at,
            confirm_kind="held" if email_held else "signup",
        )
        if email_held:
            return user, []
        user.confirm_hash, user.confirm_expires_at = link.hash, link.expires_at
        registered = UserRegisteredPayload(
            **details,
            user_id=user_id,
            sealed_confirmation_token=link.sealed,
            confirmation_expires_at=link.expires_at,
            registered_at=now,
        )
        return user, [registered]

    def confirm(self, digest: str, now: datetime, revert: Link) -> list[Payload]:
        """Follow the confirmation link: a sign-up becomes active and takes its email and
        document (a unique index may still refuse them), or an email change takes effect.
        ``revert`` is used only if an email change needs a new way back."""
        self._require_current("confirm", digest)
        if self.confirm_kind == "email_change":
            return self._confirm_email_change(now, revert)
        events: list[Payload] = []
        if self.status == PENDING:
            for key, value in self.claims().items():
                setattr(self, key, value)
            self.status, self.confirmed_at = ACTIVE, now
            self.claim_email_key = self.claim_document_key = self.pending_until = None
            events.append(UserConfirmedPayload(**person(self), confirmed_at=now))
        self._end_confirmation()
        return events

    def reissue_confirmation(self, link: Link) -> list[Payload]:
        """A fresh sign-up link (older ones stop working); nothing once confirmed."""
        if not self.awaits_sign_up_link:
            return []
        self.confirm_hash, self.confirm_expires_at = link.hash, link.expires_at
        self.pending_until = link.expires_at
        requested = ConfirmationRequestedPayload(
            **person(self),
            account_name=self.account_name,
            reason="resend",
            sealed_confirmation_token=link.sealed,
            expires_at=link.expires_at,
        )
        return [requested]

    def note_sign_up_attempt(self, matched: list[str], now: datetime) -> list[Payload]:
        """Someone used this confirmed user's email or document: they are told."""
        self.last_attempt_noticed_at = now
        return [SignUpAttemptedPayload(**person(self), matched=matched, attempted_at=now)]

    # -- credentials ------------------------------------------------------------------------
    def issue_reset(
        self, link: Link, reason: Literal["requested", "locked"] = "requested"
    ) -> list[Payload]:
        """A reset link (only the newest works); ``locked``: it also lifts a lock-out."""
        self.reset_hash, self.reset_expires_at = link.hash, link.expires_at
        requested = PasswordResetRequestedPayload(
            **person(self),
            sealed_reset_token=link.sealed,
            expires_at=link.expires_at,
            reason=reason,
        )
        return [requested]

    def set_password(
        self, password_hash: str, via: Literal["reset", "profile"], now: datetime
    ) -> list[Payload]:
        """A new password ends every session. A pending move of the address (perhaps by
        whoever held the old password) dies with it: its link stops working."""
        self.password_hash, self.sessions_revoked_before = password_hash, now
        if via == "reset":
            self.reset_hash = self.reset_expires_at = None
        if self.confirm_kind == "email_change":
            self._end_confirmation()
            self.pending_email = None
        reason = "password_reset" if via == "reset" else "password_changed"
        return [
            PasswordChangedPayload(**person(self), via=via, changed_at=now),
            UserSessionsRevokedPayload(user_id=self.id, revoked_before=now, reason=reason),
        ]

    def signed_in(self, now: datetime, rehashed: str | None) -> list[Payload]:
        """The first login completes the activation; an outdated hash is replaced. Nothing
        to announce (the login's own facts go out apart, ``UserSignedIn``)."""
        if self.first_login_at is None:
            self.first_login_at = now
        if rehashed is not None:
            self.password_hash = rehashed
        return []

    # -- one's own data ---------------------------------------------------------------------
    def plan_edit(self, changes: Mapping[str, Any]) -> Edit:
        """What normalised ``changes`` would change (nothing is applied)."""
        rest = dict(changes)
        new_email = rest.pop("email", None)
        if new_email and identity.email_key(new_email) == self.email_key:
            new_email = None
        sets = {k: v for k, v in rest.items() if k != "security_answer" and getattr(self, k) != v}
        return Edit(sets, new_email)

    def edit(
        self,
        changes: Mapping[str, Any],
        now: datetime,
        *,
        answer_hash: str | None,
        revert: Link | None,
        link: Link | None,
    ) -> list[Payload]:
        """Apply ``changes`` (``answer_hash``: the new security answer's). A new email only
        waits for its link (see :meth:`request_email_change`; ``revert``: the way back, used
        unless a live one exists)."""
        plan, before = self.plan_edit(changes), person(self)
        sets = dict(plan.sets)
        if plan.new_document:
            kind = sets.get("document_type", self.document_type)
            number = sets.get("document_number", self.document_number)
            sets["document_key"] = identity.document_key(kind, number)
        if answer_hash is not None:
            sets["security_answer_hash"] = answer_hash
        for key, value in sets.items():
            setattr(self, key, value)
        changed = sorted(k.removesuffix("_hash") for k in sets if k != "document_key")
        events: list[Payload] = [profile_updated(self, changed, now)] if changed else []
        if plan.new_email and revert is not None:
            events += self.request_email_change(before, plan.new_email, now, revert, link)
        return events

    def rename(self, new_username: str, now: datetime) -> list[Payload]:
        """A new username, announced to the owner's address."""
        if new_username == self.username:
            return []
        previous, self.username = self.username, new_username
        return [
            profile_updated(self, ["username"], now),
            change_notice(person(self), "username_changed", now, previous_username=previous),
        ]

    def note_username_recovery(
        self, asked_by: AskedBy, now: datetime, case_number: str | None = None
    ) -> list[Payload]:
        """Someone asked for this user's username: by document, email or a desk case the
        username goes to the registered address, by phone or username only a hint of it."""
        self.last_username_recovery_at = now
        if asked_by in ("document_number", "email", "support_case"):
            disclosed: dict[str, Any] = {"disclose": "username", "username": self.username}
        else:
            disclosed = {"disclose": "email_hint", "email_hint": identity.email_hint(self.email)}
        requested = UsernameRecoveryRequestedPayload(
            user_id=self.id,
            full_name=self.full_name,
            email=self.email,
            time_zone=self.time_zone,
            asked_by=asked_by,
            case_number=case_number,
            **disclosed,
        )
        return [requested]

    def set_role(self, role: str, *, grant: bool, now: datetime) -> list[Payload]:
        """Grant or revoke a platform role (nothing if unchanged). A revocation also ends
        every session: other services trust the roles a token carries."""
        before = set(self.roles)
        after = sorted(before | {role} if grant else before - {role})
        if set(after) == before:
            return []
        self.roles = after
        events: list[Payload] = [
            UserRolesChangedPayload(
                user_id=self.id, roles=after, changed_by="operator", changed_at=now
            )
        ]
        if not grant:
            self.sessions_revoked_before = now
            events.append(
                UserSessionsRevokedPayload(user_id=self.id, revoked_before=now, reason="operator")
            )
        return events
