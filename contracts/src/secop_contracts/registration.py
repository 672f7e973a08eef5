"""Events published by the registration service, keyed by ``user_id``.

No password, hash or security answer ever appears here. Confirmation and reset tokens travel
only sealed for the notification service.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from secop_contracts.envelope import Event, Payload, personal_data, sealed


class UserRegisteredPayload(Payload):
    user_id: UUID
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data()
    country: str
    document_type: str
    document_number: str = personal_data()
    mobile_phone: str = personal_data()
    time_zone: str
    account_name: str = personal_data(description="The account the user will join or register.")
    sealed_confirmation_token: str = sealed()
    confirmation_expires_at: datetime
    registered_at: datetime


class UserRegistered(Event):
    """Step 1 of sign-up: a user exists, pending confirmation by email."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UserRegisteredPayload


class SignUpAttemptedPayload(Payload):
    user_id: UUID = Field(description="The confirmed user who already holds the data.")
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data(description="The holder's address, where the notice goes.")
    time_zone: str
    matched: list[Literal["email", "document_number"]] = Field(
        description="What the sign-up had in common with this user."
    )
    attempted_at: datetime


class SignUpAttempted(Event):
    """Someone used the email or document of a confirmed user, signing up or changing their
    own data. The attempt got the answer any gets (a sign-up's 201; an email change's link
    sent, as far as its author can tell); the holder is told by email."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: SignUpAttemptedPayload


class UserConfirmedPayload(Payload):
    user_id: UUID
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data()
    time_zone: str = "America/Bogota"
    confirmed_at: datetime


class UserConfirmed(Event):
    """The user followed the emailed link: the registration (or a new email) is confirmed."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UserConfirmedPayload


class ConfirmationRequestedPayload(Payload):
    user_id: UUID
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data(
        description="Where the link goes: the new address on an email change."
    )
    time_zone: str
    account_name: str = personal_data(default="")
    reason: Literal["resend", "email_change"]
    sealed_confirmation_token: str = sealed()
    expires_at: datetime


class ConfirmationRequested(Event):
    """A new confirmation link was issued; every older link stops working."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: ConfirmationRequestedPayload


class PasswordResetRequestedPayload(Payload):
    user_id: UUID
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data()
    time_zone: str
    sealed_reset_token: str = sealed()
    expires_at: datetime
    reason: Literal["requested", "locked", "email_reverted"] = Field(
        default="requested",
        description="requested: the person asked; locked: a hundred failed logins in a row "
        "locked the account, and this link lifts the lock; email_reverted: an email change was "
        "undone and the old password no longer works.",
    )


class PasswordResetRequested(Event):
    """A reset link was issued; only the newest one works."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: PasswordResetRequestedPayload


class PasswordChangedPayload(Payload):
    user_id: UUID
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data()
    time_zone: str
    via: Literal["profile", "reset"]
    changed_at: datetime


class PasswordChanged(Event):
    """The password changed; the user is told by email as a security notice."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: PasswordChangedPayload


class UsernameRecoveryRequestedPayload(Payload):
    user_id: UUID
    full_name: str = personal_data()
    email: str = personal_data(description="The registered address the answer goes to.")
    time_zone: str
    asked_by: Literal["document_number", "email", "mobile_phone", "username", "support_case"]
    disclose: Literal["username", "email_hint"]
    username: str | None = personal_data(default=None, description="Set when disclose=username.")
    email_hint: str | None = personal_data(
        default=None, description="Set when disclose=email_hint."
    )
    case_number: str | None = None


class UsernameRecoveryRequested(Event):
    """A user matched a recovery request; what to disclose was decided by registration."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UsernameRecoveryRequestedPayload


class UserProfileUpdatedPayload(Payload):
    user_id: UUID
    changed_fields: list[str]
    username: str = personal_data()
    full_name: str = personal_data()
    email: str = personal_data()
    mobile_phone: str = personal_data()
    time_zone: str
    updated_at: datetime


class UserProfileUpdated(Event):
    """Personal data, username or confirmed email changed (never secrets)."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UserProfileUpdatedPayload


class UserSignedInPayload(Payload):
    user_id: UUID
    session_id: str
    ip: str | None = personal_data(default=None)
    user_agent: str | None = personal_data(default=None)
    signed_in_at: datetime


class UserSignedIn(Event):
    """A successful login (for analytics and the access history)."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UserSignedInPayload


class SignInFailedPayload(Payload):
    subject: str = Field(description="user_id when the user exists, else 'unknown'.")
    reason: Literal["bad_credentials", "not_confirmed", "locked", "ip_throttled"]
    ip: str | None = personal_data(default=None)
    failed_at: datetime


class SignInFailed(Event):
    """A refused login (for analytics); never carries the attempted password."""

    KEY_FIELD: ClassVar[str] = "subject"
    payload: SignInFailedPayload


class UserSignedOutPayload(Payload):
    user_id: UUID
    session_id: str
    token_expires_at: datetime
    signed_out_at: datetime


class UserSignedOut(Event):
    """A session ended: every service refuses its token from then on."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UserSignedOutPayload


class AccountChangeNoticePayload(Payload):
    user_id: UUID
    username: str = personal_data(description="The username now.")
    full_name: str = personal_data()
    email: str = personal_data(
        description="Where the notice goes: for an email change, the address before it."
    )
    time_zone: str
    change: Literal[
        "email_change_requested", "email_changed", "email_change_reverted", "username_changed"
    ]
    new_email_hint: str | None = personal_data(
        default=None, description="The new address, masked (email changes)."
    )
    previous_username: str | None = personal_data(default=None)
    sealed_revert_token: str | None = sealed(
        default=None,
        description="A link that puts the old address back and ends every session "
        "(email_change_requested and email_changed).",
    )
    revert_expires_at: datetime | None = None
    restores_email_hint: str | None = personal_data(
        default=None, description="The address the revert link puts back, masked."
    )
    changed_at: datetime


class AccountChangeNotice(Event):
    """The owner is told of a change to how the account is reached, at the address it had
    before: a stolen password must not move an account silently."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: AccountChangeNoticePayload


class UserSessionsRevokedPayload(Payload):
    user_id: UUID
    revoked_before: datetime = Field(description="Tokens issued before this instant are refused.")
    reason: Literal["password_reset", "password_changed", "locked", "operator", "email_reverted"]


class UserSessionsRevoked(Event):
    """Every session of a user ended at once (password reset, operator action)."""

    KEY_FIELD: ClassVar[str] = "user_id"
    NOT_IN_FUTURE: ClassVar[tuple[str, ...]] = ("revoked_before",)
    payload: UserSessionsRevokedPayload


class UserRolesChangedPayload(Payload):
    user_id: UUID
    roles: list[str]
    changed_by: str = Field(description="'operator' for the command line.")
    changed_at: datetime


class UserRolesChanged(Event):
    """Platform roles (such as support_agent) granted or revoked by an operator."""

    KEY_FIELD: ClassVar[str] = "user_id"
    payload: UserRolesChangedPayload


EVENTS: tuple[type[Event], ...] = (
    UserRegistered,
    SignUpAttempted,
    UserConfirmed,
    ConfirmationRequested,
    PasswordResetRequested,
    PasswordChanged,
    UsernameRecoveryRequested,
    UserProfileUpdated,
    UserSignedIn,
    SignInFailed,
    UserSignedOut,
    UserSessionsRevoked,
    UserRolesChanged,
    AccountChangeNotice,
)
