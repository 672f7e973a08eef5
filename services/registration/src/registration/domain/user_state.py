"""What a user holds, and the states it can be in.

Two states. ``pending_confirmation``: signed up, the emailed link not followed yet; the email
and ID document are only *claimed* (``claim_*``) while the unique keys hold placeholders, so an
unconfirmed sign-up blocks nobody and expires with its link. ``active``: confirmed; the keys
are theirs. Beside the state, at most one live link per purpose (``domain/tokens.py``): confirm
(a sign-up's, or an email change's: ``confirm_kind`` says which), reset, and revert (the way
back after an email change). The rules that change a user are in ``email_change.py`` and
``user.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from secop_runtime.aggregates import Aggregate

from registration.domain import identity
from registration.domain.tokens import Purpose, TokenProblem, check, refused

PENDING = "pending_confirmation"
ACTIVE = "active"
#: What a pending sign-up's unique email and document keys hold until it is confirmed.
UNCLAIMED = "unclaimed:"
#: The unique keys, and the request field a 409 names for each.
UNIQUE_FIELDS = {"username": "username", "email_key": "email", "document_key": "document_number"}

Status = Literal["pending_confirmation", "active"]
#: signup: the sign-up's link; held: a sign-up whose address is a confirmed user's (no link
#: can work); email_change: the link sent to a new address.
ConfirmKind = Literal["signup", "held", "email_change"]


class UserState(Aggregate):
    """A user's stored fields (secrets only as hashes) and what they say."""

    username: str
    full_name: str
    email: str
    email_key: str
    country: str
    document_type: str
    document_number: str
    document_key: str
    mobile_phone: str
    time_zone: str
    account_name: str = ""
    security_question: str
    status: Status
    roles: list[str] = Field(default_factory=list)
    registered_at: datetime
    confirmed_at: datetime | None = None
    first_login_at: datetime | None = None
    password_hash: str | None = None
    security_answer_hash: str | None = None
    claim_email_key: str | None = None
    claim_document_key: str | None = None
    pending_until: datetime | None = None
    confirm_kind: ConfirmKind | None = None
    confirm_hash: str | None = None
    confirm_expires_at: datetime | None = None
    confirm_email: str | None = None
    pending_email: str | None = None
    reset_hash: str | None = None
    reset_expires_at: datetime | None = None
    revert_hash: str | None = None
    revert_expires_at: datetime | None = None
    revert_email: str | None = None
    revert_sealed: str | None = None
    sessions_revoked_before: datetime | None = None
    last_attempt_noticed_at: datetime | None = None
    last_username_recovery_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.status == ACTIVE

    @property
    def awaits_sign_up_link(self) -> bool:
        return self.status == PENDING and self.confirm_kind == "signup"

    def expired(self, now: datetime) -> bool:
        """An unconfirmed sign-up past its link (sign-ups older than ``pending_until`` go by
        their link's expiry)."""
        until = self.pending_until or self.confirm_expires_at
        return (
            self.status == PENDING
            and self.confirm_kind != "email_change"
            and until is not None
            and until < now
        )

    def claims(self) -> dict[str, str]:
        """The unique keys a confirmation makes this user's: a sign-up's email and document,
        or an email change's new address."""
        if self.confirm_kind == "email_change" and self.confirm_email:
            return {"email_key": identity.email_key(self.confirm_email)}
        if self.status != PENDING:
            return {}
        claimed = {"email_key": self.claim_email_key, "document_key": self.claim_document_key}
        return {k: v for k, v in claimed.items() if v}  # older sign-ups already hold theirs

    def link_problem(self, purpose: Purpose, digest: str, now: datetime) -> TokenProblem | None:
        """Whether the link hashed ``digest`` is this user's newest for ``purpose`` and live."""
        if getattr(self, f"{purpose}_hash") != digest:
            return TokenProblem.UNKNOWN
        return check(getattr(self, f"{purpose}_expires_at"), now)

    def _require_current(self, purpose: Purpose, digest: str) -> None:
        if getattr(self, f"{purpose}_hash") != digest:
            raise refused(TokenProblem.UNKNOWN)  # a newer link replaced it meanwhile

    def _end_confirmation(self) -> None:
        self.confirm_hash = self.confirm_expires_at = self.confirm_kind = None
        self.confirm_email = None
