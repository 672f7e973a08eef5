"""The desk's decisions on accounts, and the requests that only the desk can make.

An activation decision is allowed only on a case linked to a submitted entity (the account id
then comes from membership's ``EntitySubmitted``, never from what a requester typed). A
mixed-profile decision needs the mixed-profile subject and an account id on the case, and an
approval needs a requester who proved their email. A credentials resend needs the
"Recuperación de usuario" subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from secop_runtime.errors import Conflict, Invalid

from support.domain.access import requester_verified
from support.domain.cases import OPEN, RESOLVED, Actor, Case, Entry

ActivationDecision = Literal["approve", "request_changes", "reject"]
DecisionKind = Literal["activation", "mixed_profile"]


@dataclass(frozen=True)
class Subjects:
    """The catalogue subjects that carry special actions (configurable names)."""

    activation: str
    mixed_profile: str
    credentials: str


def decision_kind(case: Case, subjects: Subjects) -> DecisionKind:
    """Which decision this case can carry, or why it carries none."""
    if case.subject == subjects.activation:
        if not case.activation_linked or case.account_id is None:
            raise Conflict(
                f"case {case.number} is not linked to a submitted entity yet: there is no "
                "account to activate (it links when the entity is submitted)"
            )
        return "activation"
    if case.subject == subjects.mixed_profile:
        if case.account_id is None:
            raise Conflict(f"case {case.number} names no account_id: nothing to enable")
        return "mixed_profile"
    raise Conflict(
        f"case {case.number} is about {case.subject!r}: decisions apply only to "
        f"{subjects.activation!r} and {subjects.mixed_profile!r} cases"
    )


def decide(
    case: Case, kind: DecisionKind, decision: str, message: str, actor: Actor, at: datetime
) -> Entry:
    """Record the decision; approve and reject close the case, request_changes keeps it open."""
    if kind == "mixed_profile" and decision == "approve" and not requester_verified(case):
        raise Conflict(
            f"case {case.number}: its requester has not written on it with the key its opening "
            "email carried, so nothing shows they own that address; ask them to reply "
            "from it first (membership also checks they administer the account)"
        )
    if case.status != OPEN:
        raise Conflict(f"case {case.number} is resolved: reopen it before deciding again")
    if kind == "mixed_profile" and decision == "request_changes":
        raise Invalid("a mixed profile is approved or rejected: request_changes")
    if decision in ("request_changes", "reject") and not message.strip():
        raise Invalid("say what the requester must change or why it is rejected")
    case.decision = decision
    case.answered(at)
    if decision != "request_changes":
        case.status, case.resolution, case.resolved_at = RESOLVED, message, at
    return case.record(
        f"{kind}_decided",
        actor,
        at,
        details={"decision": decision, "account_id": case.account_id},
        body=message or None,
        public=bool(message),
    )


def request_credentials(case: Case, subjects: Subjects, actor: Actor, at: datetime) -> Entry:
    if case.subject != subjects.credentials:
        raise Conflict(
            f"case {case.number} is about {case.subject!r}: credentials are resent only on "
            f"{subjects.credentials!r} cases"
        )
    if case.status != OPEN:
        raise Conflict(f"case {case.number} is resolved: reopen it first")
    return case.record("credentials_resend_requested", actor, at)


def link_submission(
    case: Case,
    event_id: str,
    account_id: str,
    nit: str,
    documents: list[dict[str, Any]],
    at: datetime,
    due: datetime,
) -> Entry | None:
    """An entity submission joins the open case for it; the desk's clock restarts if stopped.
    None when this submission is linked already (a redelivery)."""
    if event_id in case.source_event_ids:
        return None
    if not case.awaiting_response:
        case.awaiting_response, case.first_response_due = True, due
        case.first_response_at = None
    case.account_id, case.nit, case.activation_linked = account_id, nit, True
    case.documents = documents
    case.source_event_ids = [*case.source_event_ids, event_id]
    return case.record(
        "entity_submission_linked",
        Actor("system"),
        at,
        details={"event_id": event_id, "account_id": account_id, "documents": len(documents)},
    )
