"""The desk's decisions on accounts, and the requests that only the desk can make.

An activation decision is allowed only on a case linked to a submitted entity (the account id
then comes from membership's ``EntitySubmitted``, never from what a requester typed). A
mixed-profile decision needs the mixed-profile subject and an account id on the case. A
credentials resend needs the "Recuperación de usuario" subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from support.domain.cases import OPEN, RESOLVED, Actor, Case, CaseRuleError, Change, answered

ActivationDecision = Literal["approve", "request_changes", "reject"]


@dataclass(frozen=True)
class Subjects:
    """The catalogue subjects that carry special actions (configurable names)."""

    activation: str
    mixed_profile: str
    credentials: str


def decision_kind(case: Case, subjects: Subjects) -> Literal["activation", "mixed_profile"]:
    """Which decision this case can carry, or why it carries none."""
    if case.subject == subjects.activation:
        if not case.activation_linked or case.account_id is None:
            raise CaseRuleError(
                f"case {case.number} is not linked to a submitted entity yet: there is no "
                "account to activate (it links when the entity is submitted)"
            )
        return "activation"
    if case.subject == subjects.mixed_profile:
        if case.account_id is None:
            raise CaseRuleError(f"case {case.number} names no account_id: nothing to enable")
        return "mixed_profile"
    raise CaseRuleError(
        f"case {case.number} is about {case.subject!r}: decisions apply only to "
        f"{subjects.activation!r} and {subjects.mixed_profile!r} cases"
    )


def decide(
    case: Case, kind: str, decision: str, message: str, actor: Actor, at: datetime
) -> Change:
    """Record the decision; approve and reject close the case, request_changes keeps it open."""
    if case.status != OPEN:
        raise CaseRuleError(f"case {case.number} is resolved: reopen it before deciding again")
    if kind == "mixed_profile" and decision == "request_changes":
        raise CaseRuleError("a mixed profile is approved or rejected: request_changes", 422)
    if decision in ("request_changes", "reject") and not message.strip():
        raise CaseRuleError("say what the requester must change or why it is rejected", 422)
    state: dict[str, Any] = {"updated_at": at, "decision": decision}
    state |= answered(case, at)
    if decision != "request_changes":
        state |= {"status": RESOLVED, "resolution": message, "resolved_at": at}
    return Change(
        f"{kind}_decided",
        actor,
        at,
        state=state,
        details={"decision": decision, "account_id": case.account_id},
        body=message or None,
        public=bool(message),
    )


def request_credentials(case: Case, subjects: Subjects, actor: Actor, at: datetime) -> Change:
    if case.subject != subjects.credentials:
        raise CaseRuleError(
            f"case {case.number} is about {case.subject!r}: credentials are resent only on "
            f"{subjects.credentials!r} cases"
        )
    if case.status != OPEN:
        raise CaseRuleError(f"case {case.number} is resolved: reopen it first")
    return Change("credentials_resend_requested", actor, at, state={"updated_at": at})


def link_submission(
    case: Case,
    event_id: str,
    account_id: str,
    nit: str,
    documents: list[dict[str, Any]],
    at: datetime,
    due: datetime,
) -> Change:
    """An entity submission joins the open case for it; the desk's clock restarts if stopped."""
    clock = (
        {}
        if case.awaiting_response
        else {
            "awaiting_response": True,
            "first_response_due": due,
            "first_response_at": None,
        }
    )
    return Change(
        "entity_submission_linked",
        Actor("system"),
        at,
        state={
            "account_id": account_id,
            "nit": nit,
            "activation_linked": True,
            "documents": documents,
            "source_event_ids": [*case.source_event_ids, event_id],
            "updated_at": at,
            **clock,
        },
        details={"event_id": event_id, "account_id": account_id, "documents": len(documents)},
    )
