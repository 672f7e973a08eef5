"""Accounts: their kinds, lifecycle and what "Finalizar" requires. Pure rules, no I/O."""

from __future__ import annotations

import re
from typing import Any

from membership.domain.documents import required_documents

DRAFT, PENDING_ACTIVATION, ACTIVE = "draft", "pending_activation", "active"
CHANGES_REQUESTED, REJECTED = "changes_requested", "rejected"
EDITABLE = frozenset({DRAFT, CHANGES_REQUESTED})
#: Accounts others may ask to join (a draft is still being filled in; a rejected one is dead).
JOINABLE = frozenset({PENDING_ACTIVATION, ACTIVE, CHANGES_REQUESTED})

ENTITY_ORGANISATION_TYPES = ("state_entity", "other_public")
SUPPLIER_ORGANISATION_TYPES = ("natural_person", "sas", "ltda", "sa", "plural", "other")
BUSINESS_AREAS = ("public", "public_private", "private")

_NIT = re.compile(r"^[0-9]{5,15}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ]{5,19}$")

#: Fields every account needs before it is submitted.
COMMON_REQUIRED = (
    "legal_name",
    "short_name",
    "document_type",
    "nit",
    "department",
    "municipality",
    "address",
    "phone",
    "office_email",
    "notification_email",
    "business_area",
    "organisation_type",
)
ENTITY_REQUIRED = ("order", "branch", "sector", "entity_type")
SUPPLIER_REQUIRED = ("tax_regime", "legal_representative")


def nit_error(raw: str) -> str | None:
    """The NIT is digits only, without the verification digit."""
    if "-" in raw:
        return "write the NIT without the verification digit (nothing after the hyphen)"
    if not _NIT.match(raw):
        return "the NIT is 5 to 15 digits, without dots, spaces or the verification digit"
    return None


def phone_error(raw: str) -> str | None:
    if re.search(r"[a-zA-Z#]", raw):
        return "write the phone without an extension"
    if not _PHONE.match(raw.strip()):
        return "a phone number: digits, optionally a leading + and spaces"
    return None


def is_private_body(account: dict[str, Any]) -> bool:
    """A private body that spends public funds needs the 90-day certificate of existence."""
    return account.get("kind") == "entity" and account.get("business_area") == "private"


def is_natural_person(account: dict[str, Any]) -> bool:
    return (
        account.get("kind") == "supplier" and account.get("organisation_type") == "natural_person"
    )


def organisation_type_error(kind: str, organisation_type: str | None) -> str | None:
    if organisation_type is None:
        return None
    allowed = ENTITY_ORGANISATION_TYPES if kind == "entity" else SUPPLIER_ORGANISATION_TYPES
    if organisation_type not in allowed:
        return f"for a {kind} the organisation type is one of: {', '.join(allowed)}"
    return None


def missing_items(account: dict[str, Any], documents: set[str]) -> list[tuple[str, str]]:
    """Every required field and document still missing, as (field, message) pairs."""
    kind = account["kind"]
    fields = [*COMMON_REQUIRED, *(ENTITY_REQUIRED if kind == "entity" else SUPPLIER_REQUIRED)]
    missing = [(f, "required before submitting") for f in fields if _blank(account.get(f))]
    if kind == "entity":
        if account.get("siif_registered") and _blank(account.get("pci_code")):
            missing.append(("pci_code", "required when the entity is registered in SIIF"))
        if account.get("spgr_registered") and _blank(account.get("spgr_code")):
            missing.append(("spgr_code", "required when the entity is registered in SPGR"))
        if account.get("decentralised") is None:
            missing.append(("decentralised", "say whether the entity is decentralised"))
    else:
        if account.get("msme") is None:
            missing.append(("msme", "say whether the supplier is an MSME (Mipyme)"))
    required = required_documents(kind, account.get("organisation_type"), is_private_body(account))
    missing += [
        (f"documents.{d}", "document required before submitting")
        for d in required
        if d not in documents
    ]
    return missing


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
