"""An account's lifecycle: "Finalizar", then the service desk's decisions (from support).

Every transition holds the account's turn (one writer at a time, decided by a unique insert),
checks the current status, and stores the new status and its events in one document write.
Decisions that no longer apply (a redelivery, a second decision) change nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from secop_contracts.membership import (
    AccountActivated,
    AccountChangesRequested,
    AccountRejected,
    EntitySubmitted,
    MixedProfileChanged,
)
from secop_contracts.support import AccountActivationDecided, MixedProfileDecided
from secop_runtime.auth import Principal
from secop_runtime.http import ApiError, field_errors
from secop_runtime.outbox import with_events

from membership.adapters.users import person_ref
from membership.domain import accounts as rules
from membership.service_layer.common import Uow, now

log = logging.getLogger(__name__)

_DECISIONS: dict[str, tuple[str, type[Any]]] = {
    "approve": (rules.ACTIVE, AccountActivated),
    "request_changes": (rules.CHANGES_REQUESTED, AccountChangesRequested),
    "reject": (rules.REJECTED, AccountRejected),
}


def _document_refs(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("document_id", "doc_type", "filename", "content_type", "size", "sha256")
    return [{k: d[k] for k in keys} for d in documents]


async def submit_account(uow: Uow, principal: Principal, account_id: str) -> dict[str, Any]:
    """ "Finalizar": a complete supplier becomes active, a complete entity waits for the desk."""
    await uow.require_admin(account_id, principal)
    async with uow.account_turn(account_id):
        account = await uow.account_or_404(account_id)
        if account["status"] not in rules.EDITABLE:
            raise ApiError(409, f"the account is {account['status']}: it cannot be submitted")
        documents = await uow.documents.of_account(account_id)
        missing = rules.missing_items(account, {d["doc_type"] for d in documents})
        if missing:
            raise field_errors(missing)
        at = now()
        summary = await uow.summary(account)
        changes: dict[str, Any] = {"submitted_at": at, "updated_at": at}
        if account["kind"] == "supplier":
            changes |= {"status": rules.ACTIVE, "activated_at": at}
            event = uow.runtime.event(AccountActivated, {**summary, "decided_at": at})
        else:
            changes["status"] = rules.PENDING_ACTIVATION
            submitter = await uow.users.get(principal.user_id)
            event = uow.runtime.event(
                EntitySubmitted,
                {
                    **summary,
                    "organisation_type": account.get("organisation_type") or "",
                    "business_area": account.get("business_area") or "",
                    "is_private_body": rules.is_private_body(account),
                    "documents": _document_refs(documents),
                    "submitted_by": person_ref(submitter, principal.user_id),
                    "resubmission": account["status"] == rules.CHANGES_REQUESTED,
                    "submitted_at": at,
                },
            )
        await uow.accounts.update(
            account_id, with_events({"$set": changes, "$inc": {"submissions": 1}}, event)
        )
    return {**account, **changes}


async def apply_activation_decision(uow: Uow, event: AccountActivationDecided) -> None:
    """Apply the desk's decision to an entity waiting for it; anything else changes nothing."""
    p = event.payload
    account_id = str(p.account_id)
    status, event_cls = _DECISIONS[p.decision]
    async with uow.account_turn(account_id):
        account = await uow.accounts.get(account_id)
        if account is None or account["status"] != rules.PENDING_ACTIVATION:
            log.info(
                "activation decision ignored",
                extra={"account_id": account_id, "status": account and account["status"]},
            )
            return
        at = now()
        payload = {
            **await uow.summary(account),
            "message": p.message,
            "case_number": p.case_number,
            "decided_at": p.decided_at,
        }
        changes: dict[str, Any] = {
            "status": status,
            "updated_at": at,
            "last_decision": {"decision": p.decision, "case_number": p.case_number, "at": at},
        }
        if status == rules.ACTIVE:
            changes["activated_at"] = at
        await uow.accounts.update(
            account_id, with_events({"$set": changes}, uow.runtime.event(event_cls, payload))
        )
        if status == rules.REJECTED:  # the NIT may be registered again
            await uow.accounts.release_nit(account["nit"], account_id)


async def _asked_by_administrator(uow: Uow, account_id: str, requester: Any) -> bool:
    """Is the case's requester (by the email the desk verified) an accepted administrator?"""
    if requester is None:
        return False
    wanted = requester.email.strip().lower()
    admins = await uow.administrators(account_id)
    return any(a["email"].strip().lower() == wanted for a in admins)


async def apply_mixed_profile(uow: Uow, event: MixedProfileDecided) -> None:
    """Enable (or withdraw) an entity's supplier side; an unchanged flag emits nothing."""
    p = event.payload
    account_id = str(p.account_id)
    enabled = p.decision == "approve"
    async with uow.account_turn(account_id):
        account = await uow.accounts.get(account_id)
        if account is None or account["kind"] != "entity":
            log.info("mixed-profile decision ignored", extra={"account_id": account_id})
            return
        if not enabled:
            # A refused request changes nothing: anyone may open a case naming any account,
            # and its rejection must not switch off a profile its administrators asked for.
            return
        if bool(account.get("mixed_profile")) == enabled:
            return
        if enabled and not await _asked_by_administrator(uow, account_id, p.requester):
            # The case's form names the account; only its administrators may ask for this.
            log.warning(
                "mixed-profile approval ignored: the requester administers no such account",
                extra={"account_id": account_id, "case_number": p.case_number},
            )
            return
        changed = uow.runtime.event(
            MixedProfileChanged,
            {
                "account_id": account_id,
                "enabled": enabled,
                "case_number": p.case_number,
                "changed_at": p.decided_at,
            },
        )
        await uow.accounts.update(
            account_id,
            with_events({"$set": {"mixed_profile": enabled, "updated_at": now()}}, changed),
        )
