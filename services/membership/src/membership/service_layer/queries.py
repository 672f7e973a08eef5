"""Read-only views: the public search, "Mis registros", the members list and the directory."""

from __future__ import annotations

from typing import Any

from secop_runtime.auth import Principal
from secop_runtime.http import ApiError

from membership.domain import accounts as rules
from membership.domain import names
from membership.domain.documents import PERSONAL_DOCUMENTS
from membership.service_layer.common import Uow


def public(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": account["_id"],
        "legal_name": account["legal_name"],
        "short_name": account.get("short_name") or "",
        "nit": account["nit"],
        "kind": account["kind"],
        "municipality": account.get("municipality") or "",
        "department": account.get("department") or "",
        "country": account.get("country", "CO"),
        "status": account["status"],
    }


async def search_accounts(
    uow: Uow,
    name: str | None,
    nit: str | None,
    country: str | None,
    principal: Principal | None = None,
) -> list[dict[str, Any]]:
    """ "Validar si mi entidad ya existe": name ignoring case, accents and punctuation. Active
    accounts only (drafts and accounts under review are nobody's business), and to a signed-in
    user their own accounts whatever their status."""
    key = names.search_key(name) if name else None
    if name and not key:
        raise ApiError(422, "the name needs letters or digits", field="name")
    criteria = {
        "name_key": key,
        "nit": (nit or "").strip() or None,
        "country": (country or "").upper() or None,
    }
    # A natural person's supplier account is named by their ID number: not for the public
    # (buyers find suppliers in the directory).
    found = [
        a
        for a in await uow.accounts.search(**criteria, status=rules.ACTIVE)
        if not rules.is_natural_person(a)
    ]
    if principal is not None:
        mine = await uow.memberships.of_user(str(principal.user_id), "accepted")
        own = await uow.accounts.search(**criteria, account_ids=[m["account_id"] for m in mine])
        seen = {a["_id"] for a in found}
        found += [a for a in own if a["_id"] not in seen]
        found.sort(key=lambda a: a.get("search_key", ""))
    return [public(a) for a in found]


async def account_for_member(uow: Uow, principal: Principal, account_id: str) -> dict[str, Any]:
    """The whole form, for the account's own members (the draft is never lost)."""
    account = await uow.account_or_404(account_id)
    if not await uow.memberships.accepted(account_id, str(principal.user_id)):
        raise ApiError(403, "only the account's members may see its form")
    documents = await uow.documents.of_account(account_id)
    # "_"-prefixed fields are storage bookkeeping (the outbox's), never part of the form.
    form = {k: v for k, v in account.items() if k != "search_key" and not k.startswith("_")}
    return {
        "account_id": account_id,
        **form,
        "documents": [_document(d) for d in documents],
    }


def _document(d: dict[str, Any]) -> dict[str, Any]:
    keys = ("document_id", "doc_type", "filename", "content_type", "size", "sha256", "uploaded_at")
    return {k: d.get(k) for k in keys}


async def members(
    uow: Uow, principal: Principal, account_id: str, status: str | None
) -> list[dict[str, Any]]:
    await uow.require_admin(account_id, principal)
    return await member_rows(uow, await uow.memberships.of_account(account_id, status))


async def member_rows(uow: Uow, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Memberships as administrators see them, with name and email from the user view."""
    views = await uow.users.get_many(d["user_id"] for d in found)
    out = []
    for d in found:
        view = views.get(d["user_id"]) or {}
        out.append(
            {
                "membership_id": d["_id"],
                "user_id": d["user_id"],
                "full_name": view.get("full_name", ""),
                "email": view.get("email", ""),
                "requested_at": d["requested_at"],
                "status": d["status"],
                "status_changed_at": d["status_changed_at"],
                "accepted_at": d.get("accepted_at"),
                "roles": d.get("roles", []),
                "reason": d.get("reason", ""),
            }
        )
    return out


async def my_memberships(uow: Uow, principal: Principal) -> list[dict[str, Any]]:
    """ "Mis registros": every membership of the caller, newest request first."""
    found = await uow.memberships.of_user(str(principal.user_id))
    accounts = await uow.accounts.get_many(sorted({d["account_id"] for d in found}))
    out = []
    for d in found:
        account = accounts.get(d["account_id"])
        if account is None:  # a crash between the two inserts of a registration
            continue
        out.append(
            {
                "membership_id": d["_id"],
                "account_id": d["account_id"],
                "nit": account["nit"],
                "account_name": account["legal_name"],
                "kind": account["kind"],
                "requested_at": d["requested_at"],
                "accepted_at": d.get("accepted_at"),
                "status": d["status"],
                "roles": d.get("roles", []),
            }
        )
    return out


async def supplier_directory(
    uow: Uow, principal: Principal, q: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Active suppliers' commercial profiles, for members of an active buyer entity."""
    mine = await uow.memberships.of_user(str(principal.user_id), "accepted")
    accounts = await uow.accounts.get_many([d["account_id"] for d in mine])
    if not any(a["kind"] == "entity" and a["status"] == rules.ACTIVE for a in accounts.values()):
        raise ApiError(403, "the directory is for members of an active buyer entity")
    text = (q or "").strip()
    key = text if text.isdigit() else names.search_key(text)
    total, found = await uow.accounts.active_suppliers(
        key or None, (page - 1) * page_size, page_size
    )
    documents = await uow.documents.of_accounts([a["_id"] for a in found])
    items = []
    for a in found:
        profile = {
            k: a.get(k)
            for k in ("organisation_type", "msme", "address", "phone", "office_email", "website")
        }
        items.append(
            {
                **public(a),
                **profile,
                "social_links": a.get("social_links") or [],
                "documents": [
                    _document(d)
                    for d in documents.get(a["_id"], [])
                    if d.get("doc_type") not in PERSONAL_DOCUMENTS  # a person's ID stays home
                ],
            }
        )
    return {"page": page, "page_size": page_size, "total": total, "items": items}
