"""Read-only views: the public search, "Mis registros", the members list and the directory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from secop_runtime.auth import Principal
from secop_runtime.errors import Invalid, Refused

from membership.domain import names
from membership.domain.accounts import ACTIVE, Account
from membership.domain.documents import PERSONAL_DOCUMENTS
from membership.domain.memberships import Membership
from membership.service_layer.common import account_or_404, require_admin

if TYPE_CHECKING:
    from membership.service_layer.context import Context

#: What the form shows: the account's fields, not its roster, invitations (their token hashes)
#: or storage bookkeeping.
NOT_IN_FORM = {
    "id",
    "version",
    "search_key",
    "members",
    "invitations",
    "documents",
    "draft_slot",
}


def public(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "legal_name": account.legal_name,
        "short_name": account.short_name or "",
        "nit": account.nit,
        "kind": account.kind,
        "municipality": account.municipality or "",
        "department": account.department or "",
        "country": account.country,
        "status": account.status,
    }


async def search_accounts(
    ctx: Context,
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
        raise Invalid("the name needs letters or digits", field="name")
    criteria = {
        "name_key": key,
        "nit": (nit or "").strip() or None,
        "country": (country or "").upper() or None,
    }
    # A natural person's supplier account is named by their ID number: not for the public
    # (buyers find suppliers in the directory).
    found = [
        a for a in await ctx.queries.search(**criteria, status=ACTIVE) if not a.is_natural_person
    ]
    if principal is not None:
        user_id = str(principal.user_id)
        mine = [a.id for a in await ctx.queries.of_member(user_id) if a.accepted(user_id)]
        own = await ctx.queries.search(**criteria, account_ids=mine)
        seen = {a.id for a in found}
        found += [a for a in own if a.id not in seen]
        found.sort(key=lambda a: a.search_key)
    return [public(a) for a in found]


async def account_for_member(ctx: Context, principal: Principal, account_id: str) -> dict[str, Any]:
    """The whole form, for the account's own members (the draft is never lost)."""
    account = await account_or_404(ctx, account_id)
    if not account.accepted(str(principal.user_id)):
        raise Refused("only the account's members may see its form")
    form = account.model_dump(exclude=NOT_IN_FORM, exclude_none=True)
    return {"account_id": account_id, **form, "documents": documents_of(account)}


def documents_of(account: Account, hidden: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    return [
        {"doc_type": t, **account.documents[t].model_dump(exclude={"uploaded_by"})}
        for t in sorted(account.documents)
        if t not in hidden
    ]


async def members(
    ctx: Context, principal: Principal, account_id: str, status: str | None
) -> list[dict[str, Any]]:
    account = await require_admin(ctx, account_id, principal)
    found = [m for m in account.members if status is None or m.status == status]
    return await member_rows(ctx, sorted(found, key=lambda m: m.requested_at))


async def member_rows(ctx: Context, found: list[Membership]) -> list[dict[str, Any]]:
    """Memberships as administrators see them, with name and email from the user view."""
    views = await ctx.users.get_many(m.user_id for m in found)
    out = []
    for m in found:
        view = views.get(m.user_id) or {}
        out.append(
            {
                **m.model_dump(include={"membership_id", "user_id", "status", "roles"}),
                "full_name": view.get("full_name", ""),
                "email": view.get("email", ""),
                "requested_at": m.requested_at,
                "status_changed_at": m.status_changed_at,
                "accepted_at": m.accepted_at,
                "reason": m.reason or "",
            }
        )
    return out


async def my_memberships(ctx: Context, principal: Principal) -> list[dict[str, Any]]:
    """ "Mis registros": every membership of the caller, newest request first."""
    user_id = str(principal.user_id)
    rows = [
        {
            "membership_id": m.membership_id,
            "account_id": a.id,
            "nit": a.nit,
            "account_name": a.legal_name,
            "kind": a.kind,
            "requested_at": m.requested_at,
            "accepted_at": m.accepted_at,
            "status": m.status,
            "roles": m.roles,
        }
        for a in await ctx.queries.of_member(user_id)
        for m in a.members
        if m.user_id == user_id
    ]
    return sorted(rows, key=lambda r: r["requested_at"], reverse=True)


async def supplier_directory(
    ctx: Context, principal: Principal, q: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Active suppliers' commercial profiles, for members of an active buyer entity."""
    user_id = str(principal.user_id)
    mine = await ctx.queries.of_member(user_id)
    if not any(a.kind == "entity" and a.status == ACTIVE and a.accepted(user_id) for a in mine):
        raise Refused("the directory is for members of an active buyer entity")
    text = (q or "").strip()
    key = text if text.isdigit() else names.search_key(text)
    total, found = await ctx.queries.active_suppliers(
        key or None, (page - 1) * page_size, page_size
    )
    items = []
    for a in found:
        profile = {
            k: getattr(a, k)
            for k in ("organisation_type", "msme", "address", "phone", "office_email", "website")
        }
        items.append(
            {
                **public(a),
                **profile,
                "social_links": a.social_links or [],
                # a person's ID stays home
                "documents": documents_of(a, hidden=PERSONAL_DOCUMENTS),
            }
        )
    return {"page": page, "page_size": page_size, "total": total, "items": items}
