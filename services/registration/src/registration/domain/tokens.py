"""One-time tokens for confirmation and password-reset links.

256 random bits, URL-safe; only their SHA-256 is stored (a stolen database yields no usable
link), and only the newest hash per user and purpose, so issuing a link supersedes older ones.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    plain: str
    hash: str
    expires_at: datetime


def issue(now: datetime, ttl_s: int) -> IssuedToken:
    plain = secrets.token_urlsafe(32)
    return IssuedToken(plain, token_hash(plain), now + timedelta(seconds=ttl_s))


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
