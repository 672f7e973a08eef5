"""Invitations ("Crear usuarios"): an administrator invites a person by name and email, with
the roles they will have; following the emailed link, signed in with that same address, the
person becomes an accepted member.

Part of the account aggregate (``domain.accounts``), beside the roster, so each rule is decided
on the state it changes: one live invitation per address, no invitation to a member, one
acceptance per invitation, and the newest link alone works.

A membership begins in one of two ways, and a reader of membership facts (analytics, the
desk, anyone rebuilding "who belongs to which account" from events) must read both:
``AccessDecided`` with ``decision: "accepted"`` (an administrator accepted an access request,
or an invitation accepted a pending request of the invitee) and ``InvitationAccepted`` (the
invitee had no request: the membership starts accepted, with no ``AccessDecided``).

The link's token is ``<account_id>.<invitation_id>.<256 random bits, URL-safe>``: accepting it
reads one account by ``_id``. Only its SHA-256 is kept (a stolen database yields no usable
link), and only the newest one per invitation, so a resend supersedes the older link. The plain
token leaves membership only sealed for notification (``MemberInvited``).

Every invitation emails an address an administrator typed, so sending is bounded
(``InvitationRules``): only an active account invites; an account sends at most
``emails_per_day`` invitation emails (invites, resends, revocation notices) in any 24 hours;
one invitation is sent at most ``max_sends`` times; and the account document keeps at most
``max_pending`` pending and ``max_closed`` closed invitations, so no cycle of invite and revoke
can grow it towards the database's document limit.

Expiry is computed when read (``state_at``): a pending invitation past ``expires_at`` *is*
expired, whether or not a write has recorded it yet; the next change of the account's
invitations records it (``settle``), and forgets invitations closed longer ago than the
retention (``INVITATIONS_CLOSED_RETENTION_DAYS``), as the service's maintenance pass also does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict
from secop_runtime.errors import DomainError, Invalid

PENDING, ACCEPTED, REVOKED, EXPIRED = "pending", "accepted", "revoked", "expired"
#: Closed by the service, not by a person: the inviter no longer administers the account, the
#: invitee is a member already, or the desk rejected the account. Its link answers
#: "no longer valid", never why (the invitee need not learn how the account is run).
VOID = "void"
STATES = (PENDING, ACCEPTED, REVOKED, EXPIRED, VOID)
#: Why an invitation went void (``Invitation.closed_reason``).
INVITER_LEFT, ALREADY_MEMBER, ACCOUNT_REJECTED = (
    "inviter_not_administrator",
    "already_member",
    "account_rejected",
)
#: The random part of a token: URL-safe base64 (anything else was never ours).
SECRET_PART = re.compile(r"[A-Za-z0-9_-]{16,100}")
#: The window of the account's email budget.
BUDGET_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class InvitationRules:
    """The limits invitations work within (the service's settings decide them)."""

    ttl: timedelta = timedelta(days=7)
    resend_interval: timedelta = timedelta(seconds=60)
    max_pending: int = 100
    #: Emails one invitation may cause (the first and its resends).
    max_sends: int = 5
    #: Invitation emails (invites, resends, revocation notices) per account in any 24 hours.
    emails_per_day: int = 50
    #: A closed invitation (accepted, revoked, expired, void) stays this long, then goes: a
    #: link that old answers "unknown" instead of "used".
    closed_retention: timedelta = timedelta(days=30)
    #: Closed invitations kept at most, the oldest dropped first: with ``max_pending``, what
    #: bounds the account document however fast invitations are made and revoked.
    max_closed: int = 200


#: What an invitee's name may hold besides letters (of any script, accents included).
NAME_PUNCTUATION = frozenset(" .'-")
NAME_LENGTH = (2, 120)
BAD_NAME = (
    "the name may hold only letters, spaces and . ' - (2 to 120 characters; no digits, "
    "addresses or links)"
)


def invitee_name(raw: str) -> str:
    """The invitee's name as the email will print it, or 422: a name and nothing else (no
    line breaks, digits, ``@`` or ``://`` an administrator could dress a message up with)."""
    name = unicodedata.normalize("NFC", raw).strip(" ")
    name = re.sub(" {2,}", " ", name)
    allowed = all(unicodedata.category(c)[0] in "LM" or c in NAME_PUNCTUATION for c in name)
    has_letter = any(unicodedata.category(c)[0] == "L" for c in name)
    low, high = NAME_LENGTH
    if not (allowed and has_letter and low <= len(name) <= high):
        raise Invalid(BAD_NAME, field="name")
    return name


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
    #: Why a void invitation went void (``INVITER_LEFT``, ``ALREADY_MEMBER``,
    #: ``ACCOUNT_REJECTED``); None otherwise.
    closed_reason: str | None = None
    membership_id: str | None = None

    def state_at(self, now: datetime) -> str:
        """The state as of ``now``: a pending invitation past its expiry is expired."""
        if self.state == PENDING and now >= self.expires_at:
            return EXPIRED
        return self.state

    def holds(self, token: str) -> bool:
        """Is ``token`` this invitation's current link? (constant time)"""
        return hmac.compare_digest(self.token_hash, token_hash(token))

    def close(self, state: str, by: str | None, at: datetime, reason: str | None = None) -> None:
        self.state, self.closed_by, self.closed_at = state, by, at
        self.closed_reason = reason


class LinkProblem(Enum):
    UNKNOWN = "unknown"  # never issued, superseded by a newer link, or forgotten
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"
    VOID = "no_longer_valid"


class InvitationRefused(DomainError):
    """The link cannot be used (400, or 410 once expired, as registration's links answer);
    ``reason`` names why."""

    MESSAGES: ClassVar[dict[LinkProblem, str]] = {
        LinkProblem.UNKNOWN: "this invitation link is not valid (a newer one may have replaced it)",
        LinkProblem.USED: "this invitation was already used",
        LinkProblem.REVOKED: "this invitation was withdrawn by the account's administrators",
        LinkProblem.EXPIRED: "this invitation has expired: ask the account's administrators "
        "to send it again",
        LinkProblem.VOID: "this invitation is no longer valid: ask the account's "
        "administrators for a new one",
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
    if state == VOID:
        return LinkProblem.VOID
    return None
