"""One-time tokens for confirmation, password-reset and email-revert links.

256 random bits, URL-safe, after the user's id and a dot: the id says whose link it is, so
following one reads that user by ``_id`` (a look-up by hash reads every user on the development
database); the random part is what makes it unguessable. Only the SHA-256 of the whole token is
stored (a stolen database yields no usable link), and only the newest hash per user and purpose,
so issuing a link supersedes older ones. The plain token leaves only sealed for notification
(:class:`Link`). Links issued before the id was in them are still found by their hash.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import ClassVar, Literal

from secop_runtime.errors import DomainError

#: What a link is for; the user holds ``<purpose>_hash`` and ``<purpose>_expires_at``.
Purpose = Literal["confirm", "reset", "revert"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    plain: str
    hash: str
    expires_at: datetime


def issue(now: datetime, ttl_s: int, owner: str) -> IssuedToken:
    plain = f"{owner}.{secrets.token_urlsafe(32)}"
    return IssuedToken(plain, token_hash(plain), now + timedelta(seconds=ttl_s))


def owner_of(token: str) -> str | None:
    """The user id a token names (None for a token from before, or not ours at all)."""
    owner, dot, _ = token.partition(".")
    if not dot:
        return None
    try:
        return str(uuid.UUID(owner)) if len(owner) == 36 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Link:
    """A link issued to a user: what is stored (hash, expiry) and what travels (sealed)."""

    hash: str
    expires_at: datetime
    sealed: str


class TokenProblem(Enum):
    UNKNOWN = "unknown"  # never issued, superseded by a newer link, or already used
    USED = "used"
    EXPIRED = "expired"


def check(expires_at: datetime | None, now: datetime) -> TokenProblem | None:
    if expires_at is None:
        return TokenProblem.UNKNOWN
    if now >= expires_at:
        return TokenProblem.EXPIRED
    return None


class LinkRefused(DomainError):
    """The link cannot be used (400, or 410 once expired); ``reason`` names why."""

    MESSAGES: ClassVar[dict[TokenProblem, str]] = {
        TokenProblem.EXPIRED: "this link has expired: ask for a new one",
        TokenProblem.USED: "this link was already used",
        TokenProblem.UNKNOWN: "this link is not valid (a newer one may have replaced it)",
    }

    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(self.MESSAGES[problem], reason=problem.value)
        self.problem = problem


class LinkExpired(LinkRefused):
    status = 410
    error_type = "gone"


def refused(problem: TokenProblem) -> LinkRefused:
    """The refusal a link's problem answers."""
    return LinkExpired(problem) if problem is TokenProblem.EXPIRED else LinkRefused(problem)
