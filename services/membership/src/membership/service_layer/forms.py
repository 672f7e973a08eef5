"""Checking and normalising what a user types into the account form.

Every faulty field is reported at once (a 422 listing them), and what is kept is normalised the
SECOP way: legal names in capitals without accents, places resolved against ISO 3166-2 and
DIVIPOLA, so the public search finds an account however it was typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from secop_runtime.errors import Incomplete

from membership.domain import forms, location, names

if TYPE_CHECKING:
    from membership.service_layer.context import Context


async def normalise(
    ctx: Context, kind: str, fields: dict[str, Any], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The given form fields, validated and normalised; ``Incomplete`` lists every bad one."""
    errors: list[tuple[str, str]] = []
    out = dict(fields)
    foreign = sorted(set(fields) & (forms.SUPPLIER_ONLY if kind == "entity" else forms.ENTITY_ONLY))
    errors += [(f, f"not a field of a {kind} account") for f in foreign]
    if "legal_name" in fields:  # never blank, nor null in an edit
        out["legal_name"] = names.legal_name(fields["legal_name"] or "")
        out["search_key"] = names.search_key(fields["legal_name"] or "")
        if not out["legal_name"]:
            errors.append(("legal_name", "the legal name needs letters or digits"))
    if fields.get("short_name") is not None:
        out["short_name"] = names.short_name(fields["short_name"])
    if fields.get("nit") is not None:
        out["nit"] = fields["nit"].strip()
        if message := forms.nit_error(out["nit"]):
            errors.append(("nit", message))
    if fields.get("phone") is not None and (message := forms.phone_error(fields["phone"])):
        errors.append(("phone", message))
    if message := forms.organisation_type_error(kind, fields.get("organisation_type")):
        errors.append(("organisation_type", message))
    if kind == "supplier" and fields.get("business_area") not in (None, "private"):
        errors.append(("business_area", "a supplier's business area is 'private'"))
    errors += _locate(ctx, out, {**(current or {}), **out})
    if fields.get("parent_account_id"):
        parent = await ctx.accounts.get(fields["parent_account_id"])
        if parent is None or parent.kind != "entity":
            errors.append(("parent_account_id", "the parent entity must already be registered"))
    if errors:
        raise Incomplete(errors)
    return out


def _locate(ctx: Context, out: dict[str, Any], merged: dict[str, Any]) -> list[tuple[str, str]]:
    """Country, department and municipality, checked against the reference data."""
    if not {"country", "department", "municipality"} & set(out):
        return []
    try:
        country = location.country_code(merged.get("country") or "CO")
        out["country"] = country
        if merged.get("department"):
            out["department"] = location.department_code(country, merged["department"])
        if merged.get("municipality") is not None:
            if not out.get("department") and not merged.get("department"):
                return [("department", "give the department of the municipality")]
            name, code = location.municipality(
                country,
                out.get("department") or merged["department"],
                merged["municipality"],
                ctx.municipalities,
            )
            out["municipality"], out["municipality_code"] = name, code
    except location.LocationError as exc:
        return [(exc.field, str(exc))]
    return []
