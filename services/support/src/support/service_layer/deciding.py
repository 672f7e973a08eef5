"""The desk's decisions (activation, mixed profile) and credential resends, as events.

Membership applies ``AccountActivationDecided`` / ``MixedProfileDecided``; both carry the
requester so notification can tell them. ``CredentialsResendRequested`` asks registration to
email the matching user's data to their registered address: the agent never sees it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from secop_contracts.support import (
    AccountActivationDecided,
    AccountActivationDecidedPayload,
    CredentialsResendRequested,
    CredentialsResendRequestedPayload,
    MixedProfileDecided,
    MixedProfileDecidedPayload,
)

from support.domain import decisions
from support.domain.cases import Actor, Case, CaseRuleError
from support.service_layer.actions import act
from support.service_layer.desk import Desk, requester_of


async def decide(
    desk: Desk, number: str, decision: str, message: str, actor: Actor
) -> dict[str, Any]:
    subjects = desk.settings.subjects

    def rule(case: Case, doc: dict[str, Any]) -> Any:
        kind = decisions.decision_kind(case, subjects)
        if kind == "mixed_profile" and decision == "approve" and not requester_verified(doc):
            raise CaseRuleError(
                f"case {number}: its requester has not written on it with the key its opening "
                "email carried, so nothing shows they own that address; ask them to reply "
                "from it first (membership also checks they administer the account)"
            )
        change = decisions.decide(case, kind, decision, message, actor, desk.now())
        common = {
            "case_number": number,
            "account_id": UUID(str(case.account_id)),
            "decision": decision,
            "message": message,
            "agent_id": UUID(str(actor.id)),
            "requester": requester_of(doc),
            "decided_at": change.at,
        }
        if kind == "activation":
            event: Any = desk.event(
                AccountActivationDecided, AccountActivationDecidedPayload(**common)
            )
        else:
            event = desk.event(MixedProfileDecided, MixedProfileDecidedPayload(**common))
        return change, [event]

    return await act(desk, number, rule)


def requester_verified(doc: dict[str, Any]) -> bool:
    """The requester proved they own the case's email: they wrote on it with its key (a case
    opened from a submission names the entity's administrator, from membership's facts)."""
    return doc.get("origin") == "entity_submitted" or bool(doc.get("requester_confirmed_at"))


async def request_credentials(desk: Desk, number: str, actor: Actor) -> dict[str, Any]:
    subjects = desk.settings.subjects

    def rule(case: Case, doc: dict[str, Any]) -> Any:
        change = decisions.request_credentials(case, subjects, actor, desk.now())
        requester = doc["requester"]
        payload = CredentialsResendRequestedPayload(
            case_number=number,
            document_number=requester.get("document_number", ""),
            email=requester["email"],
            agent_id=UUID(str(actor.id)),
            requested_at=change.at,
        )
        return change, [desk.event(CredentialsResendRequested, payload)]

    return await act(desk, number, rule)
