"""Who may follow a case without an account: whoever holds its key and the requester's email.

Case numbers are sequential, so anyone may guess one; the key (random, emailed when the case
opened, stored only hashed) is what keeps strangers out, the email a second check. A case opened
before keys existed has none: its email alone still serves.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from support.domain.cases import Case


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def same_email(case: Case, email: str) -> bool:
    given = email.strip().lower().encode()
    return hmac.compare_digest(given, case.requester.email.strip().lower().encode())


def admits(case: Case, email: str, key: str | None) -> bool:
    """The case's access key and the requester's email (compared in constant time)."""
    stored = case.access_key_hash
    if stored is not None and not hmac.compare_digest(key_hash(key or ""), stored):
        return False
    return same_email(case, email)


def confirm_requester(case: Case, at: datetime) -> None:
    """Written with the key the opening email carried: the requester controls that address
    (a mixed-profile approval waits for this)."""
    if case.access_key_hash:
        case.requester_confirmed_at = at


def requester_verified(case: Case) -> bool:
    """The requester proved they own the case's email: they wrote on it with its key (a case
    opened from a submission names the entity's administrator, from membership's facts)."""
    return case.origin == "entity_submitted" or case.requester_confirmed_at is not None
