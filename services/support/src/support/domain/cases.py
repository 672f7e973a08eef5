"""Support cases: numbers, states, and what each action changes.

A case is ``open`` until an agent resolves it (or decides an activation or mixed profile for
good); a resolved case can be reopened. Every action yields a :class:`Change`: the fields it
sets on the case and one history entry saying who did what, when. Nothing is ever deleted:
history only grows, and each entry is public (shown to the requester) or internal.

"Awaiting response" is the desk's clock: it starts when a case is opened or reopened (due after
the subject's SLA in desk hours) and stops at the first agent answer (a public message, a
resolution, a decision). A case is **overdue** when it is open, still awaits that answer, and
its ``first_response_due`` has passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

OPEN = "open"
RESOLVED = "resolved"
Status = Literal["open", "resolved"]
ActorKind = Literal["requester", "agent", "system"]

CASE_NUMBER = re.compile(r"CCE-(\d{4})-(\d{6,9})")


def format_case_number(year: int, seq: int) -> str:
    return f"CCE-{year}-{seq:06d}"


def parse_case_number(number: str) -> tuple[int, int] | None:
    match = CASE_NUMBER.fullmatch(number)
    return (int(match[1]), int(match[2])) if match else None


class CaseRuleError(Exception):
    """An action the case's state does not allow; the message is safe to show."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass
class Case:
    """The case as the rules need it (the store keeps more: requester, description...)."""

    number: str
    subject: str
    status: Status = OPEN
    version: int = 0
    assignee_id: str | None = None
    account_id: str | None = None
    activation_linked: bool = False
    awaiting_response: bool = True
    first_response_due: datetime | None = None
    source_event_ids: list[str] = field(default_factory=list)


@dataclass
class Change:
    """What one action does: fields to set, and the history entry that records it."""

    action: str
    actor: Actor
    at: datetime
    state: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    body: str | None = None
    public: bool = False


def _require_open(case: Case, doing: str) -> None:
    if case.status != OPEN:
        raise CaseRuleError(f"case {case.number} is resolved: reopen it before you {doing}")


def answered(case: Case, at: datetime) -> dict[str, Any]:
    """The desk's clock stops at the first agent answer after (re)opening."""
    if not case.awaiting_response:
        return {}
    return {"awaiting_response": False, "first_response_at": at}


def add_message(case: Case, actor: Actor, body: str, at: datetime) -> Change:
    _require_open(case, "add a message")
    state = {"updated_at": at}
    if actor.kind == "agent":
        state |= answered(case, at)
    return Change("message", actor, at, state=state, body=body, public=True)


def assign(case: Case, assignee_id: UUID, actor: Actor, at: datetime) -> Change | None:
    """Take or hand over; None when the case already has that assignee (nothing to record)."""
    _require_open(case, "assign it")
    if case.assignee_id == str(assignee_id):
        return None
    return Change(
        "assigned",
        actor,
        at,
        state={"assignee_id": str(assignee_id), "updated_at": at},
        details={"assignee_id": str(assignee_id), "previous_assignee_id": case.assignee_id},
    )


def resolve(case: Case, resolution: str, actor: Actor, at: datetime) -> Change:
    _require_open(case, "resolve it")
    state = {"status": RESOLVED, "resolution": resolution, "resolved_at": at, "updated_at": at}
    state |= answered(case, at)
    return Change("resolved", actor, at, state=state, body=resolution, public=True)


def reopen(case: Case, reason: str, actor: Actor, at: datetime, due: datetime) -> Change:
    if case.status != RESOLVED:
        raise CaseRuleError(f"case {case.number} is not resolved: nothing to reopen")
    state = {
        "status": OPEN,
        "awaiting_response": True,
        "first_response_due": due,
        "first_response_at": None,
        "resolved_at": None,
        "updated_at": at,
    }
    return Change("reopened", actor, at, state=state, details={"reason": reason})
