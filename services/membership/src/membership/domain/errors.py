"""Refusals of membership's rules that runtime's shared errors do not name yet.

Each is a :class:`~secop_runtime.errors.DomainError`, so runtime maps it to HTTP like the
others; they live here only until ``secop_runtime.errors`` offers the same kinds (a form with
several faulty fields, a body too large, a file type refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from secop_runtime.errors import Conflict, DomainError, Invalid


class Incomplete(Invalid):
    """Several fields at once are missing or wrong ("Finalizar" lists everything missing)."""

    error_type = "missing"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("invalid")
        self.problems = list(problems)

    def body(self) -> dict[str, Any]:
        detail = [{"loc": ["body", f], "msg": m, "type": self.error_type} for f, m in self.problems]
        return {"detail": detail}


class TooManyDrafts(Conflict):
    """A user holds as many drafts as they may; each draft holds a NIT."""

    error_type = "too_many_drafts"


class TooLarge(DomainError):
    """The upload is larger than the service stores."""

    status = 413
    error_type = "too_large"


class FileRefused(DomainError):
    """A file that must not be stored: a blocked type, or content that is not what its
    extension claims."""

    status = 415
    error_type = "unsupported"
