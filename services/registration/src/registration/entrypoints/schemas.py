"""Request and response bodies: every field is checked and normalised here (422 otherwise)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from registration.domain import identity

Username = Annotated[str, Field(max_length=200), AfterValidator(identity.normalise_username)]
Email = Annotated[str, Field(max_length=320), AfterValidator(identity.normalise_email)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(identity.normalise_phone)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(identity.normalise_time_zone)]
DocType = Annotated[str, Field(max_length=20), AfterValidator(identity.normalise_document_type)]
DocNumber = Annotated[str, Field(max_length=40), AfterValidator(identity.normalise_document_number)]
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(str.strip)]
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(str.upper)]
Secret = Annotated[str, Field(min_length=1, max_length=1024)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SignUpIn(Strict):
    full_name: Text = Field(description="As on the ID document.")
    country: Country = "CO"
    document_type: DocType = Field(description="e.g. CC (cédula), CE, PA.")
    document_number: DocNumber
    email: Email
    username: Username = Field(description="3-64 of a-z 0-9 . _ -; case-insensitive.")
    password: Secret
    password_confirmation: Secret
    security_question: Text
    security_answer: Text
    mobile_phone: Phone = Field(description="Mobile number; national numbers are Colombian.")
    time_zone: TimeZone = Field(
        default="America/Bogota",
        description='IANA name; SECOP\'s label "(UTC-05:00) Bogotá, Lima, Quito" is accepted.',
    )
    account_name: Text = Field(description="The account to join, or the entity to register.")
    accept_terms: bool


class SignedUpOut(BaseModel):
    user_id: str
    username: str
    status: Literal["pending_confirmation"]


class TokenIn(Strict):
    token: str = Field(min_length=1, max_length=200)


class StatusOut(BaseModel):
    status: str


class ResendIn(Strict):
    username_or_email: str = Field(min_length=1, max_length=320)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=200)
    password: Secret


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the token expires.")


class ProfileOut(BaseModel):
    user_id: str
    username: str
    full_name: str
    email: str
    pending_email: str | None = Field(None, description="Waiting for confirmation by link.")
    country: str
    document_type: str
    document_number: str
    mobile_phone: str
    time_zone: str
    account_name: str
    security_question: str
    status: str
    roles: list[str]
    registered_at: datetime
    confirmed_at: datetime | None = None


class ProfilePatch(Strict):
    full_name: Text | None = None
    mobile_phone: Phone | None = None
    time_zone: TimeZone | None = None
    document_type: DocType | None = None
    document_number: DocNumber | None = None
    security_question: Text | None = None
    security_answer: Text | None = None
    email: Email | None = Field(None, description="Takes effect once confirmed by link.")
    current_password: Secret | None = Field(
        None,
        description="Required with a new email: recovery links go to that address, so "
        "changing it is changing a credential.",
    )


class PasswordChangeIn(Strict):
    current_password: Secret
    new_password: Secret
    new_password_confirmation: Secret


class UsernameChangeIn(Strict):
    current_password: Secret
    new_username: Username


class HistoryItem(BaseModel):
    at: datetime
    kind: Literal[
        "login",
        "logout",
        "login_failed",
        "password_check_failed",
        "locked",
        "password_changed",
        "username_changed",
        "password_reset",
    ]
    ip: str | None
    user_agent: str | None


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    page: int
    size: int
    total: int


class UsernameRecoveryIn(Strict):
    document_number: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=320)
    mobile_phone: str | None = Field(None, max_length=40)
    username: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _exactly_one(self) -> UsernameRecoveryIn:
        given = [k for k, v in self.model_dump().items() if v not in (None, "")]
        if len(given) != 1:
            raise ValueError("give exactly one of document_number, email, mobile_phone or username")
        return self

    def asked(self) -> tuple[str, str]:
        return next((k, v) for k, v in self.model_dump().items() if v not in (None, ""))


class PasswordRecoveryIn(Strict):
    username: str = Field(min_length=1, max_length=200)


class PasswordResetIn(Strict):
    token: str = Field(min_length=1, max_length=200)
    new_password: Secret
    new_password_confirmation: Secret
