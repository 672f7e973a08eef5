"""The account pages' pure rules: the account form read from a browser's fields and written
back into them, the documents an account takes, and membership's refusals said again in
Spanish. No I/O: the pages call membership, this decides what they show and send."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from portal.adapters.backend import ApiError
from portal.service_layer import messages
from portal.service_layer.account_names import (
    ENTITY_DOCUMENTS,
    FIELD_LABELS,
    ORGANISATION_TYPES,
    SUPPLIER_DOCUMENTS,
)

COMMON_FIELDS = (
    "country",
    "legal_name",
    "short_name",
    "document_type",
    "department",
    "municipality",
    "address",
    "postal_code",
    "phone",
    "office_email",
    "notification_email",
    "business_area",
    "organisation_type",
)
ENTITY_FIELDS = ("pci_code", "spgr_code", "branch", "sector", "entity_type", "order")
ENTITY_FLAGS = ("siif_registered", "spgr_registered", "decentralised")
SUPPLIER_FIELDS = ("tax_regime", "website")
PERSON_FIELDS = ("full_name", "document_type", "document_number", "email", "phone")
FINANCIAL_FIELDS = (
    "year",
    "fiscal_year",
    "equity",
    "current_assets",
    "total_assets",
    "current_liabilities",
    "total_liabilities",
    "operating_income",
    "interest_expense",
)
BANK_FIELDS = ("bank", "account_type", "number")
#: Where the summary's link for a whole group goes (its first field).
ANCHORS = {
    "legal_representative": "legal_representative.full_name",
    "bank_account": "bank_account.bank",
    "financial": "financial.year",
    "parent_account_id": "parent_nit",
}
NIT = re.compile(r"^[0-9]{5,15}$")


def organisation_types(kind: str) -> dict[str, str]:
    return ORGANISATION_TYPES.get(kind, {})


def documents_for(account: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The documents this account takes (as membership decides: a natural person's ID instead
    of the certificate of existence), each with its label, whether "Finalizar" needs it and the
    file stored, if any."""
    kind, org = account.get("kind"), account.get("organisation_type")
    stored = {d["doc_type"]: d for d in account.get("documents") or []}
    if kind == "entity":
        labels = dict(ENTITY_DOCUMENTS)
        required = {"structure_act", "spending_authority_act", "admin_authorisation", "rut"}
        if account.get("business_area") == "private":
            required.add("existence_certificate")
    else:
        labels = dict(SUPPLIER_DOCUMENTS)
        labels.pop("existence_certificate" if org == "natural_person" else "identity_document")
        first = "identity_document" if org == "natural_person" else "existence_certificate"
        required = {first, "experience_certificate", "financial_statements", "capacity_certificate"}
    return [
        {"doc_type": t, "label": label, "required": t in required, "stored": stored.get(t)}
        for t, label in labels.items()
    ]


def document_label(doc_type: str) -> str:
    return SUPPLIER_DOCUMENTS.get(doc_type) or ENTITY_DOCUMENTS.get(doc_type) or doc_type


def field_label(name: str) -> str:
    if name.startswith("documents."):
        return document_label(name.removeprefix("documents."))
    return FIELD_LABELS.get(name, name)


def labels() -> dict[str, str]:
    """Every label the account form's error summary may need, documents included."""
    docs = {
        f"documents.{t}": label for t, label in {**SUPPLIER_DOCUMENTS, **ENTITY_DOCUMENTS}.items()
    }
    return {**FIELD_LABELS, **docs}


def typed(form: Mapping[str, Any], name: str) -> str | None:
    """What the person typed in a field, stripped; None for nothing."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def _flag(form: Mapping[str, Any], name: str) -> bool | None:
    return {"true": True, "false": False}.get(str(form.get(name) or ""))


def _group(form: Mapping[str, Any], prefix: str, names: tuple[str, ...]) -> dict[str, str] | None:
    """A nested part of the form (``legal_representative.*``): None when left wholly blank."""
    found = {n: typed(form, f"{prefix}.{n}") for n in names}
    kept = {n: v for n, v in found.items() if v is not None}
    return kept or None


def form_to_fields(kind: str, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The body of ``PATCH /accounts/{id}`` from the page's fields, and the Spanish errors found
    before asking membership. Every field of this kind is sent (a blank one clears it: the
    draft is what the page shows), never the NIT or the kind (fixed), never the other kind's
    fields (membership refuses them)."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {n: typed(form, n) for n in COMMON_FIELDS}
    body["country"] = body["country"] or "CO"
    if not body["legal_name"]:
        errors["legal_name"] = "Escriba el nombre de la Entidad."
        del body["legal_name"]  # membership never takes a blank name
    if body["organisation_type"] and body["organisation_type"] not in organisation_types(kind):
        errors["organisation_type"] = "Elija uno de los tipos de organización de la lista."
    if kind == "supplier" and body["business_area"] not in (None, "private"):
        errors["business_area"] = "El área de negocio de un Proveedor es «Privado»."
    if kind == "entity":
        body |= {n: typed(form, n) for n in ENTITY_FIELDS}
        body |= {n: _flag(form, n) for n in ENTITY_FLAGS}
        if body["decentralised"] is False:
            body["parent_account_id"] = None
        parent = typed(form, "parent_nit")
        if parent and not NIT.match(parent):
            errors["parent_nit"] = "Escriba el NIT de la entidad principal: de 5 a 15 dígitos."
    else:
        body |= {n: typed(form, n) for n in SUPPLIER_FIELDS}
        body["msme"] = _flag(form, "msme")
        links = str(form.get("social_links") or "").split()
        body["social_links"] = links or None
        if len(links) > 10:
            errors["social_links"] = "Escriba como máximo 10 enlaces, uno por línea."
        body["legal_representative"] = _group(form, "legal_representative", PERSON_FIELDS)
        body["financial"] = _numbers(form, errors)
        body["bank_account"] = _group(form, "bank_account", BANK_FIELDS)
    return body, errors


def without(body: dict[str, Any], refused: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` less the fields named in ``refused`` (``financial.equity`` drops that figure
    only; a whole group's name drops the group), so the rest can be saved."""
    out = dict(body)
    for name in refused:
        top, _, sub = name.partition(".")
        group = out.get(top)
        if sub and isinstance(group, dict):
            out[top] = {k: v for k, v in group.items() if k != sub} or None
        else:
            out.pop(top, None)
    return out


def _numbers(form: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    """The financial data: whole pesos or with decimals (a comma is read as the decimal
    mark); thousands separators are refused rather than guessed."""
    out: dict[str, Any] = {}
    for name in FINANCIAL_FIELDS:
        raw = typed(form, f"financial.{name}")
        if raw is None:
            continue
        text = raw.replace(" ", "").replace(",", ".")
        if name in ("year", "fiscal_year"):
            if not re.fullmatch(r"[0-9]{4}", text):
                errors[f"financial.{name}"] = "Escriba el año con cuatro dígitos."
            else:
                out[name] = int(text)
        elif re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
            out[name] = float(text)
        else:
            errors[f"financial.{name}"] = "Escriba solo números, sin puntos de miles."
    return out or None


def account_to_values(account: Mapping[str, Any]) -> dict[str, str]:
    """The stored form as the page's fields show it (nested parts under dotted names)."""
    values: dict[str, str] = {}
    for name, value in account.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                values[f"{name}.{sub}"] = _shown(inner)
        elif isinstance(value, list):
            if name == "social_links":
                values[name] = "\n".join(str(v) for v in value)
        else:
            values[name] = _shown(value)
    return values


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


#: (membership's sentence, the Spanish) for the account form's refusals; tried before the
#: shared sentences (``messages.SENTENCES``), whose general words would say less.
ACCOUNT_SENTENCES: messages.Sentences = [
    (re.compile(r"without the verification digit"),
     "Escriba el NIT sin el dígito de verificación (nada después del guion)."),
    (re.compile(r"NIT is 5 to 15 digits"),
     "El NIT tiene de 5 a 15 dígitos, sin puntos, espacios ni dígito de verificación."),
    (re.compile(r"NIT \S+ already has an account"), "Ya existe una cuenta con este NIT."),
    (re.compile(r"already have (\d+) draft accounts"),
     "Ya tiene {0} cuentas en borrador: finalice o descarte una antes de empezar otra."),
    (re.compile(r"NIT and kind identify"), "El NIT y el tipo de cuenta no se pueden cambiar."),
    (re.compile(r"without an extension"), "Escriba el teléfono sin extensión."),
    (re.compile(r"a phone number: digits"),
     "Escriba un teléfono: solo dígitos, con + inicial y espacios si quiere."),
    (re.compile(r"organisation type is one of"),
     "Elija uno de los tipos de organización de este tipo de cuenta."),
    (re.compile(r"business area is 'private'"), "El área de negocio de un Proveedor es «Privado»."),
    (re.compile(r"unknown department"), "No reconocemos este departamento."),
    (re.compile(r"no municipality"), "No encontramos este municipio en el departamento elegido."),
    (re.compile(r"give the department"), "Elija el departamento del municipio."),
    (re.compile(r"municipality is required"), "Escriba el municipio."),
    (re.compile(r"unknown country"), "País desconocido."),
    (re.compile(r"parent entity must already be registered"),
     "La entidad principal debe estar registrada en SECOP II."),
    (re.compile(r"not a field of a"), "Este dato no corresponde a este tipo de cuenta."),
    (re.compile(r"registered in SIIF"),
     "Escriba el código PCI: la Entidad está registrada en SIIF."),
    (re.compile(r"registered in SPGR"),
     "Escriba el código SPGR: la Entidad está registrada en SPGR."),
    (re.compile(r"decentralised"), "Indique si la Entidad es descentralizada."),
    (re.compile(r"MSME"), "Indique si el Proveedor es Mipyme."),
    (re.compile(r"document required before submitting"), "Falta el documento."),
    (re.compile(r"required before submitting"), "Falta este dato."),
    (re.compile(r"needs letters or digits"), "El nombre debe tener letras o números."),
    (re.compile(r"the name may hold only letters"),
     "Escriba solo el nombre: letras, espacios y . ' - (de 2 a 120 caracteres, sin números, "
     "correos ni enlaces)."),
    (re.compile(r"title must have"), "El título debe tener de 1 a 200 caracteres."),
    (re.compile(r"control or formatting characters"), "El título tiene caracteres no permitidos."),
    (re.compile(r"only administrators may receive"),
     "Solo los administradores pueden recibir estos avisos."),
    (re.compile(r"role", re.I), "Elija roles que esta cuenta tenga."),
]  # fmt: skip
#: A field's own words where its error kind says too little.
FIELD_TYPES = {
    ("postal_code", "string_pattern_mismatch"): "El código postal tiene de 4 a 10 dígitos.",
    ("bank_account.number", "string_pattern_mismatch"): (
        "El número de cuenta tiene de 4 a 30 dígitos (puede llevar guiones)."
    ),
    ("legal_representative.document_number", "string_too_short"): (
        "El número de documento tiene al menos 3 caracteres."
    ),
}


def spanish(field: str, error_type: str, message: str) -> str:
    """One of membership's field errors, in Spanish."""
    if text := FIELD_TYPES.get((field, error_type)):
        return text
    return messages.spanish(error_type, message, ACCOUNT_SENTENCES)


def field_errors(error: ApiError) -> dict[str, str]:
    """Membership's field errors in Spanish, each under the page's field (a whole group, such
    as the legal representative, under its first field)."""
    return messages.field_errors(error, ANCHORS, spanish)


def missing_items(error: ApiError) -> list[dict[str, str]]:
    """ "Finalizar"'s 422 as the list the page shows: what is missing, in Spanish, each with
    the field (or document) it links to."""
    return [
        {
            "field": ANCHORS.get(name, name),
            "label": field_label(name),
            "message": spanish(name, error.types.get(name, ""), message),
        }
        for name, message in error.fields.items()
    ]


def roles_for(kind: str, mixed_profile: bool = False) -> list[str]:
    """The roles membership lets this account give (the mixed profile adds supplier)."""
    if kind == "supplier":
        return ["administrator", "supplier"]
    return ["administrator", "buyer", *(["supplier"] if mixed_profile else [])]


def size(value: int | None) -> str:
    """``1,5 MB``: a file's size as people read it."""
    if value is None:
        return ""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}".replace(".", ",")
    return f"{value} bytes"
