"""Access requests and the administrators' decisions on them ("Administración de usuarios").

Writes to one account's memberships hold the account's roster turn, so the last-administrator
rule holds even when two administrators act at once; the unique ``live_key`` keeps one live
membership per user and account, even when two requests race.
"""

from __future__ import annotations

import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError
from secop_contracts.membership import AccessDecided, AccessRequested, MemberRolesChanged
from secop_runtime.auth import Principal
from secop_runtime.http import ApiError
from secop_runtime.outbox import new_document, with_events

from membership.adapters.memberships import live_key
from membership.adapters.users import person_ref
from membership.domain import accounts as rules
from membership.domain import memberships as m
from membership.service_layer.accounts import require_confirmed
from membership.service_layer.common import Uow, now


def _already(status: str) -> ApiError:
    what = "are already a member" if status == m.ACCEPTED else "already asked and are waiting"
    return ApiError(409, f"you {what} of this account", status=status)


async def request_access(uow: Uow, principal: Principal, account_id: str) -> dict[str, Any]:
    """A user asks to join an existing (not draft) account; its administrators are told."""
    user = await require_confirmed(uow, principal)
    account = await uow.account_or_404(account_id)
    if account["status"] not in rules.JOINABLE:
        raise ApiError(409, f"the account is {account['status']}: it takes no access requests")
    if rules.is_natural_person(account):
        raise ApiError(409, "a natural-person supplier is a one-user account")
    user_id = str(principal.user_id)
    existing = await uow.memberships.latest(account_id, user_id)
    if existing and existing["status"] in m.LIVE:
        raise _already(existing["status"])
    membership_id, at = str(uuid.uuid4()), now()
    event = uow.runtime.event(
        AccessRequested,
        {
            "membership_id": membership_id,
            "account_id": account_id,
            "account_name": account["legal_name"],
            "nit": account["nit"],
            "user": person_ref(user, user_id),
            "administrators": await uow.administrators(account_id),
            "requested_at": at,
        },
    )
    doc = {
        "_id": membership_id,
        "account_id": account_id,
        "user_id": user_id,
        "status": m.PENDING,
        "roles": [],
        "requested_at": at,
        "status_changed_at": at,
        "live_key": live_key(account_id, user_id, membership_id, m.PENDING),
    }
    try:
        await uow.memberships.insert(new_document(doc, event))
    except DuplicateKeyError:
        raced = await uow.memberships.latest(account_id, user_id)
        raise _already(raced["status"] if raced else m.PENDING) from None
    return {"membership_id": membership_id, "status": m.PENDING}


async def decide(
    uow: Uow,
    principal: Principal,
    account_id: str,
    user_id: str,
    action: str,
    *,
    roles: list[str] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """accept (with roles), reject (with a reason), cancel, or revert a rejection."""
    account = await uow.require_admin(account_id, principal)
    if action == "accept":
        _check_roles(account, roles or [])
    async with uow.roster_turn(account_id):
        membership = await uow.memberships.latest(account_id, user_id)
        if membership is None:
            raise ApiError(404, f"user {user_id} has no membership in this account")
        try:
            target = m.next_status(action, membership["status"])
        except m.TransitionRefused as exc:
            raise ApiError(409, str(exc), status=membership["status"]) from None
        if action == "cancel":
            await _keep_an_administrator(uow, account_id, user_id, None)
        at = now()
        changes: dict[str, Any] = {
            "status": target,
            "status_changed_at": at,
            "decided_by": str(principal.user_id),
            "live_key": live_key(account_id, user_id, membership["_id"], target),
        }
        if action == "accept":
            changes |= {"roles": sorted(set(roles or [])), "accepted_at": at}
        if action == "reject":
            changes["reason"] = reason
        user = await uow.users.get(user_id)
        event = uow.runtime.event(
            AccessDecided,
            {
                "membership_id": membership["_id"],
                "account_id": account_id,
                "account_name": account["legal_name"],
                "nit": account["nit"],
                "user": person_ref(user, user_id),
                "decision": m.TRANSITIONS[action][2],
                "roles": changes.get("roles", membership.get("roles", [])),
                "reason": reason,
                "decided_by": str(principal.user_id),
                "decided_at": at,
            },
        )
        try:
            await uow.memberships.update(membership["_id"], with_events({"$set": changes}, event))
        except DuplicateKeyError:  # revert while a newer request is live
            raise ApiError(409, "the user already has a pending or accepted membership") from None
    return {**membership, **changes}


async def set_roles(
    uow: Uow, principal: Principal, account_id: str, user_id: str, roles: list[str]
) -> dict[str, Any]:
    account = await uow.require_admin(account_id, principal)
    _check_roles(account, roles)
    roles = sorted(set(roles))
    async with uow.roster_turn(account_id):
        membership = await uow.memberships.accepted(account_id, user_id)
        if membership is None:
            raise ApiError(409, "only an accepted member has roles")
        await _keep_an_administrator(uow, account_id, user_id, roles)
        if sorted(membership.get("roles", [])) == roles:
            return membership
        at = now()
        event = uow.runtime.event(
            MemberRolesChanged,
            {
                "membership_id": membership["_id"],
                "account_id": account_id,
                "user_id": user_id,
                "roles": roles,
                "changed_by": str(principal.user_id),
                "changed_at": at,
            },
        )
        await uow.memberships.update(
            membership["_id"],
            with_events({"$set": {"roles": roles, "roles_changed_at": at}}, event),
        )
    return {**membership, "roles": roles}


def _check_roles(account: dict[str, Any], roles: list[str]) -> None:
    if message := m.roles_error(roles, account["kind"], bool(account.get("mixed_profile"))):
        raise ApiError(422, message, field="roles")


async def _keep_an_administrator(
    uow: Uow, account_id: str, user_id: str, new_roles: list[str] | None
) -> None:
    admins = set(await uow.memberships.administrators(account_id))
    if m.loses_last_admin(admins, user_id, new_roles):
        raise ApiError(
            409, "the account must keep at least one administrator: appoint another one first"
        )
