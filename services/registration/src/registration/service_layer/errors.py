"""Registration's refusals, each one of runtime's shared kinds (``secop_runtime.errors``),
which ``create_app`` maps to HTTP once. Links' refusals are in ``domain/tokens.py``."""

from __future__ import annotations

from secop_runtime.errors import Conflict, DomainError, Refused, Unauthenticated


class Taken(Conflict):
    """A unique key is already someone else's: 409 naming the request's field."""

    error_type = "taken"

    def __init__(self, field: str) -> None:
        super().__init__(f"this {field.replace('_', ' ')} is already registered", field=field)


class BadCredentials(Unauthenticated):
    """Wrong username or password: one message for both."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class NotConfirmed(Refused):
    """Right password, but the registration was never confirmed by email."""

    def __init__(self) -> None:
        super().__init__(
            "confirm your registration from the link emailed to you first", reason="not_confirmed"
        )


class SessionEnded(Unauthenticated):
    """The bearer token does not prove a live session."""

    def __init__(self, message: str = "session ended: log in again") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class WrongCurrentPassword(DomainError):
    """A signed-in change named a wrong current password (400, like any bad request)."""

    def __init__(self) -> None:
        super().__init__("the current password is not correct", field="current_password")
