"""Password policy: SECOP's rule by default, NIST SP 800-63B-4 as a setting.

Both refuse passwords longer than 128 characters (argon2 would accept them, but nobody types
them and they make hashing a denial-of-service lever), passwords containing the username or the
email's local part, and the 30,000 most common passwords (zxcvbn's offline list), compared
case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from zxcvbn.frequency_lists import FREQUENCY_LISTS

MAX_LENGTH = 128
#: Parts of the identity shorter than this are too common to forbid inside a password.
MIN_IDENTITY_PART = 3

PolicyName = Literal["secop", "nist"]


@dataclass(frozen=True)
class PasswordPolicy:
    name: PolicyName
    min_length: int
    composition: bool

    @classmethod
    def named(cls, name: PolicyName) -> PasswordPolicy:
        if name == "nist":
            return cls("nist", 15, composition=False)
        return cls("secop", 8, composition=True)


@cache
def _common() -> frozenset[str]:
    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    return password.casefold() in _common()


def password_problem(
    password: str, policy: PasswordPolicy, *, username: str = "", email: str = ""
) -> str | None:
    """The first rule ``password`` breaks, as a message for the person; None when acceptable."""
    if len(password) < policy.min_length:
        return f"password must have at least {policy.min_length} characters"
    if len(password) > MAX_LENGTH:
        return f"password must have at most {MAX_LENGTH} characters"
    if policy.composition:
        has_letter = any(c.isalpha() for c in password)
        has_digit = any(c.isdigit() for c in password)
        has_special = any(not c.isalnum() and not c.isspace() for c in password)
        if not (has_letter and has_digit and has_special):
            return "password must contain letters, numbers and special characters"
    folded = password.casefold()
    local = email.rpartition("@")[0]
    for part, what in ((username, "username"), (local, "email address")):
        if len(part) >= MIN_IDENTITY_PART and part.casefold() in folded:
            return f"password must not contain your {what}"
    if is_common(password):
        return "password is too common: choose one that is harder to guess"
    return None
