"""The account form (parts 1 and 2 of "Registrar Entidad" / "Registrar Proveedor") and its
field rules. Every field may stay empty while the account is a draft (the form is never lost);
"Finalizar" then lists everything still missing at once. Pure rules, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from membership.domain.documents import required_documents

ENTITY_ORGANISATION_TYPES = ("state_entity", "other_public")
SUPPLIER_ORGANISATION_TYPES = ("natural_person", "sas", "ltda", "sa", "plural", "other")
BUSINESS_AREAS = ("public", "public_private", "private")

#: Fields only one kind of account has.
ENTITY_ONLY = frozenset(
    {
        "siif_registered",
        "pci_code",
        "spgr_registered",
        "spgr_code",
        "decentralised",
        "parent_account_id",
        "order",
        "branch",
        "sector",
        "entity_type",
    }
)
SUPPLIER_ONLY = frozenset(
    {
        "msme",
        "tax_regime",
        "website",
        "social_links",
        "legal_representative",
        "financial",
        "bank_account",
    }
)

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


class AccountForm(BaseModel):
    """The form's fields as stored (names normalised, places resolved); the HTTP layer checks
    their shapes, ``service_layer.forms`` their meaning."""

    legal_name: str
    nit: str
    search_key: str = ""
    short_name: str | None = None
    document_type: str | None = None
    country: str = "CO"
    department: str | None = None
    municipality: str | None = None
    municipality_code: str | None = None
    address: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    office_email: str | None = None
    notification_email: str | None = None
    business_area: str | None = None
    organisation_type: str | None = None
    # entity
    siif_registered: bool | None = None
    pci_code: str | None = None
    spgr_registered: bool | None = None
    spgr_code: str | None = None
    decentralised: bool | None = None
    parent_account_id: str | None = None
    order: str | None = None
    branch: str | None = None
    sector: str | None = None
    entity_type: str | None = None
    # supplier
    msme: bool | None = None
    tax_regime: str | None = None
    website: str | None = None
    social_links: list[str] | None = None
    legal_representative: dict[str, Any] | None = None
    financial: dict[str, Any] | None = None
    bank_account: dict[str, Any] | None = None


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


def organisation_type_error(kind: str, organisation_type: str | None) -> str | None:
    if organisation_type is None:
        return None
    allowed = ENTITY_ORGANISATION_TYPES if kind == "entity" else SUPPLIER_ORGANISATION_TYPES
    if organisation_type not in allowed:
        return f"for a {kind} the organisation type is one of: {', '.join(allowed)}"
    return None


def is_private_body(form: Mapping[str, Any]) -> bool:
    """A private body that spends public funds needs the 90-day certificate of existence."""
    return form.get("kind") == "entity" and form.get("business_area") == "private"


def missing_items(form: Mapping[str, Any], documents: set[str]) -> list[tuple[str, str]]:
    """Every required field and document still missing, as (field, message) pairs."""
    kind = form["kind"]
    fields = [*COMMON_REQUIRED, *(ENTITY_REQUIRED if kind == "entity" else SUPPLIER_REQUIRED)]
    missing = [(f, "required before submitting") for f in fields if _blank(form.get(f))]
    if kind == "entity":
        if form.get("siif_registered") and _blank(form.get("pci_code")):
            missing.append(("pci_code", "required when the entity is registered in SIIF"))
        if form.get("spgr_registered") and _blank(form.get("spgr_code")):
            missing.append(("spgr_code", "required when the entity is registered in SPGR"))
        if form.get("decentralised") is None:
            missing.append(("decentralised", "say whether the entity is decentralised"))
    elif form.get("msme") is None:
        missing.append(("msme", "say whether the supplier is an MSME (Mipyme)"))
    required = required_documents(kind, form.get("organisation_type"), is_private_body(form))
    missing += [
        (f"documents.{d}", "document required before submitting")
        for d in required
        if d not in documents
    ]
    return missing


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
