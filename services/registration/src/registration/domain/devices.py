"""Device cookies: a browser or app that signed in to an account before is recognised there.

OWASP's guidance on blocking brute force: a device that once proved the password counts its
own failures and is never locked out by a stranger's. The cookie is a MAC over (device, user,
issue time) with a key only registration holds, so it cannot be forged or moved to another
account; it proves nothing on its own (the password is still checked).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

COOKIE = "secop_device"
VERSION = "d1"


def derive_key(secret: bytes) -> bytes:
    """A MAC key of its own from a secret registration already holds (its signing key)."""
    return hashlib.sha256(b"secop registration device cookie v1\0" + secret).digest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(key: bytes, user_id: str, now: datetime) -> str:
    body = f"{VERSION}.{secrets.token_urlsafe(12)}.{user_id}.{int(now.timestamp())}"
    return f"{body}.{_mac(key, body)}"


def recognise(
    key: bytes,
    cookie: str | None,
    user_id: str,
    now: datetime,
    max_age_s: int,
    not_before: datetime | None = None,
) -> str | None:
    """The device id if ``cookie`` is ours, for this user, not too old, and issued after
    ``not_before`` (the user's last password reset or change: a browser that signed in with a
    stolen password stops being the owner's device); else None."""
    if not cookie or len(cookie) > 256:
        return None
    parts = cookie.split(".")
    if len(parts) != 5 or parts[0] != VERSION:
        return None
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_mac(key, body), mac):
        return None
    _, device, owner, issued = parts[:4]
    if owner != user_id or not issued.isdigit():
        return None
    age = now.timestamp() - int(issued)
    if age < 0 or age > max_age_s:
        return None
    if not_before is not None and int(issued) < int(not_before.timestamp()):
        return None
    return device


def subject_of_unknown(key: bytes, username_key: str) -> str:
    """The guards' stand-in for a username nobody has: a keyed hash, so that what was typed
    (often a password in the wrong box) is never stored, and nobody can guess it offline."""
    mac = hmac.new(key, b"unknown-username\0" + username_key.encode(), hashlib.sha256)
    return "unknown:" + mac.hexdigest()[:32]
