"""Normalising what identifies a person: usernames, emails, phones, documents, time zones.

Uniqueness is decided on the normalised keys (lower-case username, case-folded email, upper-case
document type with its number), so "Ana.Perez" and "ana.perez" are one user.
"""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email

USERNAME = re.compile(r"^[a-z0-9._-]{3,64}$")
DOCUMENT_NUMBER = re.compile(r"^[A-Za-z0-9-]{3,20}$")
DOCUMENT_TYPE = re.compile(r"^[A-Za-z]{1,10}$")
DEFAULT_REGION = "CO"
DEFAULT_TIME_ZONE = "America/Bogota"
#: SECOP's own labels of its time-zone list, for clients that copy them from the old form.
TIME_ZONE_LABELS = {"(UTC-05:00) Bogotá, Lima, Quito": DEFAULT_TIME_ZONE}


def normalise_username(raw: str) -> str:
    value = raw.strip().lower()
    if not USERNAME.fullmatch(value):
        raise ValueError(
            "username must be 3 to 64 characters of letters a-z, digits, '.', '_' or '-'"
        )
    return value


def normalise_email(raw: str) -> str:
    """The address as the person wrote it (domain lower-cased); raises ValueError if invalid."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email address: {exc}") from exc


def email_key(email: str) -> str:
    """The uniqueness key of an address: case-insensitive, local part included."""
    return email.strip().casefold()


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """A mobile number in E.164 (``+573001234567``); national numbers default to Colombia."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("invalid phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("invalid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def normalise_time_zone(raw: str) -> str:
    value = TIME_ZONE_LABELS.get(raw.strip(), raw.strip())
    if value not in _zones():
        raise ValueError("unknown time zone: use an IANA name such as America/Bogota")
    return value


def normalise_document_type(raw: str) -> str:
    value = raw.strip().upper()
    if not DOCUMENT_TYPE.fullmatch(value):
        raise ValueError("document type must be 1 to 10 letters, e.g. CC, CE, PA")
    return value


def normalise_document_number(raw: str) -> str:
    value = raw.strip().replace(".", "").replace(" ", "").upper()
    if not DOCUMENT_NUMBER.fullmatch(value):
        raise ValueError("document number must be 3 to 20 letters, digits or '-'")
    return value


def document_key(document_type: str, document_number: str) -> str:
    return f"{document_type}:{document_number}"


def normalise_answer(answer: str) -> str:
    """A security answer is compared after trimming and case-folding."""
    return " ".join(answer.split()).casefold()


def _mask(part: str) -> str:
    if len(part) <= 2:
        return part[:1] + "***"
    return f"{part[0]}***{part[-1]}"


def email_hint(email: str) -> str:
    """Enough to recognise an address, not to learn it: ``ana.z@dom.co`` -> ``a***z@d***.co``."""
    local, _, domain = email.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        return f"{_mask(local)}@{_mask(domain)}"
    return f"{_mask(local)}@{_mask(host)}.{tld}"
