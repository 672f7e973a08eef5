"""What a use case can refuse; the HTTP layer maps each to its status code."""

from __future__ import annotations

from registration.domain.tokens import TokenProblem


class Refused(Exception):
    """Base of the refusals below."""


class Invalid(Refused):
    """A field breaks a rule only the service can check (password policy, current password)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


class BadCredentials(Refused):
    """Wrong username or password: one message for both."""


class NotConfirmed(Refused):
    """Right password, but the registration was never confirmed by email."""


class Throttled(Refused):
    def __init__(self, retry_after_s: int, message: str) -> None:
        super().__init__(message)
        self.retry_after_s, self.message = retry_after_s, message


class TokenRefused(Refused):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class NotAuthenticated(Refused):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
