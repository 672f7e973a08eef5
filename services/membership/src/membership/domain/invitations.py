"""Invitations ("Crear usuarios"): an administrator invites a person by name and email, with
the roles they will have; following the emailed link, signed in with that same address, the
person becomes an accepted member.

Part of the account aggregate (``domain.accounts``), beside the roster, so each rule is decided
on the state it changes: one live invitation per address, no invitation to a member, one
acceptance per invitation, and the newest link alone works.

The link's token is ``<account_id>.<invitation_id>.<256 random bits, URL-safe>``: accepting it
reads one account by ``_id``. Only its SHA-256 is kept (a stolen database yields no usable
link), and only the newest one per invitation, so a resend supersedes the older link. The plain
token leaves membership only sealed for notification (``MemberInvited``).

Expiry is computed when read (``state_at``): a pending invitation past ``expires_at`` *is*
expired, whether or not a write has recorded it yet; the next change of the account's
invitations records it (``settle``), and forgets invitations closed over a month ago.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict
from secop_runtime.errors import DomainError

PENDING, ACCEPTED, REVOKED, EXPIRED = "pending", "accepted", "revoked", "expired"
STATES = (PENDING, ACCEPTED, REVOKED, EXPIRED)
#: The random part of a token: URL-safe base64 (anything else was never ours).
SECRET_PART = re.compile(r"[A-Za-z0-9_-]{16,100}")
#: A closed invitation (accepted, revoked, expired) stays this long, then goes: a link that
#: old answers "unknown" instead of "used", and the account document stays small.
CLOSED_KEPT = timedelta(days=30)


def email_key(email: str) -> str:
    """The key addresses are compared by: case-insensitive, local part included (the same
    rule as registration's ``email_key``, which the user view keeps for each user)."""
    return email.strip().casefold()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    plain: str
    hash: str


def issue_token(account_id: str, invitation_id: str) -> IssuedToken:
    plain = f"{account_id}.{invitation_id}.{secrets.token_urlsafe(32)}"
    return IssuedToken(plain, token_hash(plain))


def token_names(token: str) -> tuple[str, str] | None:
    """The account and invitation a token names (None for anything not shaped like ours)."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not SECRET_PART.fullmatch(parts[2]):
        return None
    try:
        return str(uuid.UUID(parts[0])), str(uuid.UUID(parts[1]))
    except ValueError:
        return None


class Invitation(BaseModel):
    """One invitation and what became of it."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    invitation_id: str
    name: str
    email: str
    email_key: str
    roles: list[str]
    #: The administrator who sent the current link (a resend makes it the resender).
    invited_by: str
    invited_at: datetime
    sent_at: datetime
    expires_at: datetime
    sends: int = 1
    state: str = PENDING
    #: SHA-256 of the current link's token; never the token.
    token_hash: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    membership_id: str | None = None

    def state_at(self, now: datetime) -> str:
        """The state as of ``now``: a pending invitation past its expiry is expired."""
        if self.state == PENDING and now >= self.expires_at:
            return EXPIRED
        return self.state

    def holds(self, token: str) -> bool:
        """Is ``token`` this invitation's current link? (constant time)"""
        return hmac.compare_digest(self.token_hash, token_hash(token))

    def close(self, state: str, by: str | None, at: datetime) -> None:
        self.state, self.closed_by, self.closed_at = state, by, at


class LinkProblem(Enum):
    UNKNOWN = "unknown"  # never issued, superseded by a newer link, or forgotten
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"


class InvitationRefused(DomainError):
    """The link cannot be used (400, or 410 once expired, as registration's links answer);
    ``reason`` names why."""

    MESSAGES: ClassVar[dict[LinkProblem, str]] = {
        LinkProblem.UNKNOWN: "this invitation link is not valid (a newer one may have replaced it)",
        LinkProblem.USED: "this invitation was already used",
        LinkProblem.REVOKED: "this invitation was withdrawn by the account's administrators",
        LinkProblem.EXPIRED: "this invitation has expired: ask the account's administrators "
        "to send it again",
    }

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(self.MESSAGES[problem], reason=problem.value)
        self.problem = problem


class InvitationExpired(InvitationRefused):
    status = 410
    error_type = "gone"


def refused(problem: LinkProblem) -> InvitationRefused:
    """The refusal a link's problem answers."""
    if problem is LinkProblem.EXPIRED:
        return InvitationExpired(problem)
    return InvitationRefused(problem)


def problem_of(invitation: Invitation | None, token: str, now: datetime) -> LinkProblem | None:
    """Why ``token`` cannot be accepted on ``invitation`` (None: it can)."""
    if invitation is None or not invitation.holds(token):
        return LinkProblem.UNKNOWN
    state = invitation.state_at(now)
    if state == ACCEPTED:
        return LinkProblem.USED
    if state == REVOKED:
        return LinkProblem.REVOKED
    if state == EXPIRED:
        return LinkProblem.EXPIRED
    return None
