"""Starting and editing an account ("Registrar Entidad" / "Registrar Proveedor")."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from secop_runtime.auth import Principal
from secop_runtime.http import ApiError, field_errors

from membership.adapters.accounts import NitTaken
from membership.adapters.memberships import live_key
from membership.domain import accounts as rules
from membership.domain import location, names
from membership.domain.documents import SUPPORT_AGENT
from membership.domain.memberships import ACCEPTED, founder_roles
from membership.service_layer.common import Uow, now

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

log = logging.getLogger(__name__)
#: The service desk's case numbers (support's format).
CASE_NUMBER = re.compile(r"CCE-\d{4}-\d{6,9}")


async def normalise(
    uow: Uow, kind: str, fields: dict[str, Any], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validate and normalise the given form fields; 422 listing every bad one."""
    errors: list[tuple[str, str]] = []
    out = dict(fields)
    foreign = sorted(set(fields) & (SUPPLIER_ONLY if kind == "entity" else ENTITY_ONLY))
    errors += [(f, f"not a field of a {kind} account") for f in foreign]
    if "legal_name" in fields:
        out["legal_name"] = names.legal_name(fields["legal_name"])
        out["search_key"] = names.search_key(fields["legal_name"])
        if not out["legal_name"]:
            errors.append(("legal_name", "the legal name needs letters or digits"))
    if fields.get("short_name") is not None:
        out["short_name"] = names.short_name(fields["short_name"])
    if fields.get("nit") is not None:
        out["nit"] = fields["nit"].strip()
        if message := rules.nit_error(out["nit"]):
            errors.append(("nit", message))
    if fields.get("phone") is not None and (message := rules.phone_error(fields["phone"])):
        errors.append(("phone", message))
    if message := rules.organisation_type_error(kind, fields.get("organisation_type")):
        errors.append(("organisation_type", message))
    if kind == "supplier" and fields.get("business_area") not in (None, "private"):
        errors.append(("business_area", "a supplier's business area is 'private'"))
    errors += _locate(uow, out, {**(current or {}), **out})
    if fields.get("parent_account_id"):
        parent = await uow.accounts.get(fields["parent_account_id"])
        if parent is None or parent["kind"] != "entity":
            errors.append(("parent_account_id", "the parent entity must already be registered"))
    if errors:
        raise field_errors(errors)
    return out


def _locate(uow: Uow, out: dict[str, Any], merged: dict[str, Any]) -> list[tuple[str, str]]:
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
                uow.municipalities,
            )
            out["municipality"], out["municipality_code"] = name, code
    except location.LocationError as exc:
        return [(exc.field, str(exc))]
    return []


async def require_confirmed(uow: Uow, principal: Principal) -> dict[str, Any]:
    """The caller as the local view knows them (it follows registration's events).

    The access token itself proves the confirmation: registration signs tokens only for
    confirmed users. The view's own ``confirmed`` flag follows ``UserConfirmed`` and may lag a
    person who confirms and goes straight on (seen in the journeys under load), so it is not
    asked; the view must only know the user (``UserRegistered``, long before any token).
    """
    user = await uow.users.get(principal.user_id)
    if user is None:
        raise ApiError(
            403,
            "your registration is not known here yet: if you have just signed up or confirmed, "
            "try again in a few seconds",
        )
    return user


async def create_account(uow: Uow, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A confirmed user starts a draft account and becomes its administrator."""
    await require_confirmed(uow, principal)
    kind = body.pop("kind")
    fields = await normalise(uow, kind, body)
    user_id = str(principal.user_id)
    # One creation per user at a time: the count of drafts and the new one cannot race.
    async with uow.turns.hold(f"drafts:{user_id}"):
        return await _create_draft(uow, user_id, kind, fields)


async def _create_draft(
    uow: Uow, user_id: str, kind: str, fields: dict[str, Any]
) -> dict[str, Any]:
    account_id, at = str(uuid.uuid4()), now()
    limit = uow.runtime.settings.max_drafts_per_user
    mine = await uow.memberships.of_user(user_id, ACCEPTED)
    held = await uow.accounts.get_many([m["account_id"] for m in mine])
    drafts = sum(1 for a in held.values() if a["status"] == rules.DRAFT)
    if drafts >= limit:  # each draft holds a NIT: nobody may hold many
        raise ApiError(
            409,
            f"you already have {drafts} draft accounts: finish or discard one first",
            field="nit",
            error_type="too_many_drafts",
        )
    try:
        await uow.accounts.claim_nit(fields["nit"], account_id)
    except NitTaken as exc:
        holder = held.get(exc.account_id) or await uow.accounts.get(exc.account_id or "")
        # Only an active holder (the public search shows it) or one of the caller's own is
        # named: a draft or an account under review is nobody else's business.
        named = holder is not None and (holder["status"] == rules.ACTIVE or holder["_id"] in held)
        raise ApiError(
            409,
            f"the NIT {fields['nit']} already has an account",
            field="nit",
            error_type="conflict",
            account_id=exc.account_id if named else None,
        ) from None
    account = {
        "_id": account_id,
        "kind": kind,
        "status": rules.DRAFT,
        **fields,
        "mixed_profile": False,
        "submissions": 0,
        "created_by": user_id,
        "created_at": at,
        "updated_at": at,
    }
    membership_id = str(uuid.uuid4())
    try:
        await uow.memberships.insert(
            {
                "_id": membership_id,
                "account_id": account_id,
                "user_id": user_id,
                "status": ACCEPTED,
                "roles": founder_roles(rules.is_natural_person(account)),
                "requested_at": at,
                "accepted_at": at,
                "status_changed_at": at,
                "live_key": live_key(account_id, user_id, membership_id, ACCEPTED),
                "founder": True,
            }
        )
        await uow.accounts.insert(account)
    except BaseException:
        await uow.accounts.release_nit(fields["nit"], account_id)
        raise
    return account


async def edit_account(
    uow: Uow, principal: Principal, account_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """The administrator edits a draft (or one sent back for changes): the form is never lost."""
    await uow.require_admin(account_id, principal)
    if "nit" in fields or "kind" in fields:
        raise ApiError(
            422, "the NIT and kind identify the account: start a new one instead", field="nit"
        )
    async with uow.account_turn(account_id):
        account = await uow.account_or_404(account_id)
        if account["status"] not in rules.EDITABLE:
            raise ApiError(409, f"the account is {account['status']}: only a draft can be edited")
        changes = await normalise(uow, account["kind"], fields, account)
        changes["updated_at"] = now()
        await uow.accounts.update(account_id, {"$set": changes})
    return {**account, **changes}


async def discard_draft(
    uow: Uow, principal: Principal, account_id: str, case_number: str | None = None
) -> None:
    """The administrator discards a draft: its documents, membership and NIT go. A service
    desk agent may too, on a case (someone else's draft holds the NIT a requester needs):
    the case number is logged with the agent."""
    if principal.has_role(SUPPORT_AGENT):
        if not case_number or not CASE_NUMBER.fullmatch(case_number):
            raise ApiError(
                422,
                "an agent releases a NIT on a case: give its number (CCE-YYYY-NNNNNN)",
                field="case",
            )
        log.info(
            "an agent released a draft's NIT",
            extra={
                "account_id": account_id,
                "agent_id": str(principal.user_id),
                "case": case_number,
            },
        )
    else:
        await uow.require_admin(account_id, principal)
    async with uow.account_turn(account_id):
        account = await uow.account_or_404(account_id)
        if account["status"] != rules.DRAFT:
            raise ApiError(409, f"the account is {account['status']}: only a draft is discarded")
        await _delete_draft(uow, account)


async def expire_drafts(uow: Uow, at: datetime) -> int:
    """Drafts nobody touched (edit or upload) for ``DRAFT_TTL_DAYS`` go, releasing their NIT:
    a draft must not hold a NIT for good."""
    cutoff = at - timedelta(days=uow.runtime.settings.draft_ttl_days)
    expired = 0
    for stale in await uow.accounts.stale_drafts(cutoff):  # an upload touches updated_at
        async with uow.account_turn(stale["_id"]):
            account = await uow.accounts.get(stale["_id"])
            if account and account["status"] == rules.DRAFT and account["updated_at"] < cutoff:
                await _delete_draft(uow, account)
                expired += 1
    return expired


async def _delete_draft(uow: Uow, account: dict[str, Any]) -> None:
    account_id = account["_id"]
    if not await uow.accounts.delete_draft(account_id):
        return
    for doc in await uow.documents.of_account(account_id):
        await uow.documents.delete_file(doc["document_id"])
    await uow.documents.forget_account(account_id)
    await uow.memberships.delete_of_account(account_id)
    await uow.accounts.release_nit(account["nit"], account_id)
