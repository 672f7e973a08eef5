"""The browser's session: one encrypted, signed cookie, and nothing stored on the server.

The cookie holds what the portal needs between two requests of one person: the access token
registration issued at login (never shown to the page's scripts: the cookie is HttpOnly), the
CSRF token every form carries back, registration's device cookie (so a known browser stays
known through the portal), a one-time notice for the page after a redirect, and the access
keys of the few support cases the person follows from this browser (typed once from the
case's email, so they never travel in a URL, or brought by the email's link and kept here
until the person's email confirms them). Fernet (AES-128-CBC with HMAC-SHA256) makes it
unreadable and unforgeable without ``PORTAL_SESSION_KEY``; any instance with the key reads it,
so the portal scales without a store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, Field, ValidationError

COOKIE = "secop_portal"


class SignedIn(BaseModel):
    """Who is signed in, as registration's token says."""

    access_token: str
    expires_at: datetime
    user_id: str
    username: str
    roles: list[str] = Field(default_factory=list)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


#: Cases a browser follows at once (the oldest is forgotten first): the cookie stays small.
CASE_KEYS_KEPT = 5


class CaseKey(BaseModel):
    """A case its requester follows from this browser: the access key from the opening email
    (never put in a URL) and the email it goes with."""

    email: str
    key: str


class LinkedCase(BaseModel):
    """The case the opening email's link brought, its key not yet checked: support sees it only
    once the person types their email (a link preview or scanner fetching the link spends
    nothing and learns nothing)."""

    number: str
    key: str


class OpenedCase(BaseModel):
    """The case this browser opened last, for the page that confirms it (Post/Redirect/Get)."""

    number: str
    first_response_due: datetime
    email: str


class Session(BaseModel):
    csrf: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    user: SignedIn | None = None
    device: str | None = None
    notice: str | None = None
    #: case number -> its key, typed once by the requester (at most ``CASE_KEYS_KEPT``).
    case_keys: dict[str, CaseKey] = Field(default_factory=dict)
    opened_case: OpenedCase | None = None
    #: The case the email's link brought, until the email typed here confirms it.
    linked_case: LinkedCase | None = None

    @property
    def signed_in(self) -> bool:
        return self.user is not None and not self.user.expired(datetime.now(UTC))

    def csrf_matches(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf, sent or "")

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice

    def remember_case(self, number: str, email: str, key: str) -> None:
        """Keep the key of a case followed here, newest last; the oldest beyond the few kept
        are forgotten (the person types them again)."""
        keys = {n: k for n, k in self.case_keys.items() if n != number}
        keys[number] = CaseKey(email=email, key=key)
        self.case_keys = dict(list(keys.items())[-CASE_KEYS_KEPT:])

    def forget_case(self, number: str) -> None:
        self.case_keys = {n: k for n, k in self.case_keys.items() if n != number}


class SessionCodec:
    def __init__(self, key: str, max_age_s: int) -> None:
        digest = hashlib.sha256(b"secop-portal-session\0" + key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self.max_age_s = max_age_s

    def dump(self, session: Session) -> str:
        return self._fernet.encrypt(session.model_dump_json().encode()).decode()

    def load(self, cookie: str | None) -> Session | None:
        """The session the cookie holds; None for no cookie, a forged, altered or old one."""
        if not cookie:
            return None
        try:
            raw = self._fernet.decrypt(cookie.encode(), ttl=self.max_age_s)
            return Session.model_validate_json(raw)
        except (InvalidToken, ValidationError, ValueError):
            return None
