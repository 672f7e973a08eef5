"""What a use case may answer besides success, in the domain's words.

Service layers raise these; they never build HTTP responses. ``create_app`` maps each kind to
its status once, in the body shape every other error has (``{"detail": message}``, or a list of
``{"loc", "msg", "type"}`` when a field is named), so a reader of any service layer sees the
rule, and a reader of the HTTP layer sees one mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal whose message is safe to show to the caller."""

    status: ClassVar[int] = 400
    error_type: ClassVar[str] = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers
        self.extra = extra

    def body(self) -> dict[str, Any]:
        detail: Any = self.message
        if self.field is not None:
            detail = [{"loc": ["body", self.field], "msg": self.message, "type": self.error_type}]
        return {"detail": detail, **self.extra}


class Invalid(DomainError):
    """The request is well formed but the rules refuse its content."""

    status = 422


class Incomplete(Invalid):
    """Several fields at once are missing or wrong (a form's "Finalizar" lists them all)."""

    error_type = "missing"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("invalid")
        self.problems = list(problems)

    def body(self) -> dict[str, Any]:
        detail = [{"loc": ["body", f], "msg": m, "type": self.error_type} for f, m in self.problems]
        return {"detail": detail, **self.extra}


class TooLarge(DomainError):
    """The content is larger than the service stores."""

    status = 413
    error_type = "too_large"


class UnsupportedType(DomainError):
    """Content of a type the service refuses (a blocked type, or not what it claims to be)."""

    status = 415
    error_type = "unsupported"


class NotFound(DomainError):
    """Nothing the caller may see has this name (whether it exists or not)."""

    status = 404
    error_type = "not_found"


class Conflict(DomainError):
    """The aggregate's state (or another's claim on a unique key) does not allow it now."""

    status = 409
    error_type = "conflict"


class Contended(Conflict):
    """Others kept changing the aggregate while we decided: nothing was done, and trying again
    later will do (an event handler waits it out instead of dead-lettering the event)."""


class Refused(DomainError):
    """The caller is known but not entitled to this."""

    status = 403
    error_type = "forbidden"


class Unauthenticated(DomainError):
    """The caller's credentials do not prove who they are."""

    status = 401
    error_type = "unauthenticated"


class _TryLater(DomainError):
    """A refusal that says when to come back: ``Retry-After`` in whole seconds (rounded up
    past a thousandth), at least 1."""

    def __init__(self, message: str, retry_after_s: float, **extra: Any) -> None:
        seconds = max(1, int(retry_after_s + 0.999))
        super().__init__(message, headers={"Retry-After": str(seconds)}, **extra)
        self.retry_after_s = retry_after_s


class Throttled(_TryLater):
    """Too many attempts: try again after ``retry_after_s``."""

    status = 429
    error_type = "throttled"


class Unavailable(_TryLater):
    """A dependency is saturated or down; nothing was done."""

    status = 503
    error_type = "unavailable"

    def __init__(self, message: str, retry_after_s: float = 1.0, **extra: Any) -> None:
        super().__init__(message, retry_after_s, **extra)
