"""The account's desk ("Escritorio"), its members' notice choices ("Suscripción a
notificaciones"), and the support cases about it, followed from support's events."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from secop_contracts import Event
from secop_contracts.support import (
    AccountActivationDecided,
    CaseAssigned,
    CaseMessageAdded,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    EntitySubmissionLinked,
    MixedProfileDecided,
)
from secop_runtime.aggregates import Duplicate
from secop_runtime.auth import Principal
from secop_runtime.errors import NotFound, Refused

from membership.domain import notices
from membership.domain.accounts import Account
from membership.domain.cases import AccountCase, Change
from membership.domain.memberships import PENDING
from membership.service_layer import invitations, queries
from membership.service_layer.common import account_or_404, audience, missing, now

if TYPE_CHECKING:
    from membership.service_layer.context import Context

log = logging.getLogger(__name__)
#: Open cases the desk lists at most (newest first).
DESK_CASES = 50
MEMBERS_ONLY = "only the account's members see its desk and choose its notices"


def _member_of(account: Account, principal: Principal) -> str:
    user_id = str(principal.user_id)
    if account.accepted(user_id) is None:
        raise Refused(MEMBERS_ONLY)
    return user_id


def _notices_of(account: Account, user_id: str) -> dict[str, Any]:
    membership = account.accepted(user_id)
    assert membership is not None  # checked by the caller
    chosen = notices.chosen(membership)
    return {
        "notices": [n for n in notices.available(membership) if n in chosen],
        "available": notices.available(membership),
        "defaults": membership.notices is None,
        # An administrator who opted out still hears of access requests while no one else does.
        "access_requests_as_fallback": notices.ACCESS_REQUESTS not in chosen
        and user_id in account.receivers(notices.ACCESS_REQUESTS),
    }


async def my_notices(ctx: Context, principal: Principal, account_id: str) -> dict[str, Any]:
    account = await account_or_404(ctx, account_id)
    return _notices_of(account, _member_of(account, principal))


async def choose_notices(
    ctx: Context, principal: Principal, account_id: str, chosen: list[str]
) -> dict[str, Any]:
    """The member's own choice; an administrator stops receiving access requests only while
    another administrator receives them."""
    user_id = str(principal.user_id)

    def apply(account: Account) -> list[Event]:
        account.choose_notices(user_id, chosen)
        return []

    account = await ctx.accounts.change(account_id, apply, missing(account_id))
    return _notices_of(account, user_id)


async def desk(ctx: Context, principal: Principal, account_id: str) -> dict[str, Any]:
    """What the "Escritorio" shows a member: the account and its status, its open support
    cases, and for administrators the pending access requests and invitations; newest first."""
    account = await account_or_404(ctx, account_id)
    user_id = _member_of(account, principal)
    # Only the account's own cases are asked for: anyone may open cases naming any account,
    # and strangers' cases read first would crowd the account's out of the limit.
    found = await ctx.cases.find(
        account_id=account_id, status="open", qualified=True, limit=DESK_CASES * 4
    )
    open_cases = sorted(found, key=lambda c: c.opened_at or c.status_at, reverse=True)
    open_cases = open_cases[:DESK_CASES]
    summary: dict[str, Any] = {
        "account": {
            **queries.public(account),
            "submitted_at": account.submitted_at,
            "activated_at": account.activated_at,
            "last_decision": account.last_decision,
        },
        "administrator": account.administers(user_id),
        "open_cases": [c.shown() for c in open_cases],
        "pending_access_requests": [],
        "pending_invitations": [],
        "notices": _notices_of(account, user_id),
    }
    if account.administers(user_id):
        waiting = [m for m in account.members if m.status == PENDING]
        rows = await queries.member_rows(ctx, waiting)
        summary["pending_access_requests"] = sorted(
            rows, key=lambda r: r["requested_at"], reverse=True
        )
        summary["pending_invitations"] = invitations.pending_of(account, now())
    return summary


# -- support's cases, as the account's members follow them ------------------------------------
CaseEvent = (
    CaseOpened
    | CaseAssigned
    | EntitySubmissionLinked
    | CaseMessageAdded
    | CaseResolved
    | CaseReopened
)


def _is_the_accounts(account: Account, event: CaseOpened) -> bool:
    """Opened by the entity's submission, or by an accepted member signed in (support names
    them from their token). A typed email proves nothing: anyone may open a case, without
    logging in, in a member's name."""
    p = event.payload
    if p.origin == "entity_submitted":
        return True
    return p.opened_by_user is not None and account.accepted(str(p.opened_by_user)) is not None


async def follow_case(ctx: Context, event: CaseEvent) -> None:
    """Record what a case event says about an account's case; tell the members who follow
    case updates (``AccountCaseUpdated``) when the case is the account's. An assignment is
    recorded only (who may read the account's documents), never told."""
    p = event.payload
    if p.account_id is None:
        return
    account_id = str(p.account_id)
    account = await ctx.accounts.get(account_id)
    if account is None:
        log.info("case about no account ignored", extra={"case_number": p.case_number})
        return
    label = (account.legal_name, account.nit)
    at: datetime
    if isinstance(event, CaseOpened):
        opened = event
        qualified = _is_the_accounts(account, opened)
        at = opened.payload.opened_at

        async def decide(case: AccountCase) -> list[Event]:
            return case.open(
                qualified,
                opened.payload.request_type,
                opened.payload.origin,
                opened.payload.opened_at,
                label,
                await audience(ctx, account, "case_updates") if qualified else [],
            )

    elif isinstance(event, CaseAssigned):
        assigned = event.payload
        at = assigned.assigned_at

        async def decide(case: AccountCase) -> list[Event]:
            case.assign(str(assigned.assignee_id), assigned.assigned_at)
            return []

    elif isinstance(event, EntitySubmissionLinked):
        link = event.payload
        at = link.linked_at

        async def decide(case: AccountCase) -> list[Event]:
            case.link_submission(account_id, link.request_type, link.opened_at, link.linked_at)
            return []

    else:
        change: Change
        if isinstance(event, CaseMessageAdded):
            if event.payload.author != "agent":
                return
            change, at = "answered", event.payload.added_at
        elif isinstance(event, CaseResolved):
            change, at = "resolved", event.payload.resolved_at
        else:
            change, at = "reopened", event.payload.reopened_at

        async def decide(case: AccountCase) -> list[Event]:
            recipients = await audience(ctx, account, "case_updates") if case.qualified else []
            return case.follow(change, at, label, recipients)

    await _apply(ctx, p.case_number, account_id, at, decide)


async def close_decided(
    ctx: Context, event: AccountActivationDecided | MixedProfileDecided
) -> None:
    """An approval or a rejection resolves its case in support without a ``CaseResolved``: the
    case is resolved here too (off the desk, and its agent reads no more), told to nobody, for
    the decision itself is (``AccountActivated``, ``AccountRejected``, ``MixedProfileChanged``).
    Changes requested leave it open."""
    p = event.payload
    if p.decision == "request_changes" or await ctx.accounts.get(str(p.account_id)) is None:
        return

    async def decide(case: AccountCase) -> list[Event]:
        case.follow("resolved", p.decided_at, ("", ""), [], quiet=True)
        return []

    await _apply(ctx, p.case_number, str(p.account_id), p.decided_at, decide)


async def _apply(
    ctx: Context,
    case_number: str,
    account_id: str,
    at: datetime,
    decide: Callable[[AccountCase], Awaitable[list[Event]]],
) -> None:
    """``decide`` on the case, starting it if this is the first word of it here."""
    try:
        await ctx.cases.change(case_number, decide)
        return
    except NotFound:
        pass
    case = AccountCase.heard_of(case_number, account_id, at)
    events = await decide(case)
    try:
        await ctx.cases.add(case, *events)
    except Duplicate:  # another event of the same case started it meanwhile
        await ctx.cases.change(case_number, decide)
