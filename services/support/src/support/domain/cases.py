"""Support cases: numbers, states, and what each action changes.

A case is ``open`` until an agent resolves it (or decides an activation or mixed profile for
good); a resolved case can be reopened. Every action changes the case and appends one
:class:`Entry` to its history saying who did what, when; the store saves both (and the events
the action causes) in one write, so the history and the state never disagree. Nothing is ever
deleted: history only grows, and each entry is public (shown to the requester) or internal.

"Awaiting response" is the desk's clock: it starts when a case is opened or reopened (due after
the subject's SLA in desk hours) and stops at the first agent answer (a public message, a
resolution, a decision). A case is **overdue** when it is open, still awaits that answer, and
its ``first_response_due`` has passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field
from secop_contracts.support import Requester
from secop_runtime.aggregates import Aggregate
from secop_runtime.errors import Conflict

OPEN = "open"
RESOLVED = "resolved"
Status = Literal["open", "resolved"]
ActorKind = Literal["requester", "agent", "system"]
System = Literal["SECOP_II", "SECOP_I", "TVEC"]
UserType = Literal["comprador", "proveedor", "ciudadano"]
#: How the case came: the web form, or membership's ``EntitySubmitted``.
Origin = Literal["web", "entity_submitted"]

CASE_NUMBER = re.compile(r"CCE-(\d{4})-(\d{6,9})")


def format_case_number(year: int, seq: int) -> str:
    return f"CCE-{year}-{seq:06d}"


def parse_case_number(number: str) -> tuple[int, int] | None:
    match = CASE_NUMBER.fullmatch(number)
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    name: str = ""


class Entry(BaseModel):
    """One action in a case's history; ``version`` counts the case's actions from 1."""

    version: int
    action: str
    actor: Actor
    at: datetime
    details: dict[str, Any] = Field(default_factory=dict)
    body: str | None = None
    public: bool = False


class Case(Aggregate):
    """A case as stored: ``id`` is its number; its history lives inside it."""

    year: int
    seq: int
    #: One source (a web request, one ``EntitySubmitted`` event) opens one case (unique).
    source_key: str
    origin: Origin = "web"
    requester: Requester
    system: System
    request_type: str
    subject: str
    user_type: UserType
    description: str
    account_id: str | None = None
    #: The user who opened it signed in (None: without logging in).
    opened_by_user: str | None = None
    nit: str | None = None
    activation_linked: bool = False
    documents: list[dict[str, Any]] = Field(default_factory=list)
    source_event_ids: list[str] = Field(default_factory=list)
    status: Status = OPEN
    assignee_id: str | None = None
    opened_at: datetime
    updated_at: datetime
    first_response_due: datetime
    first_response_at: datetime | None = None
    awaiting_response: bool = True
    resolved_at: datetime | None = None
    resolution: str | None = None
    decision: str | None = None
    #: The requester's key to the case, hashed (the key itself only travels in an email).
    access_key_hash: str | None = None
    requester_confirmed_at: datetime | None = None
    history: list[Entry] = Field(default_factory=list)

    @property
    def number(self) -> str:
        return self.id

    @property
    def actions(self) -> int:
        """How many actions the case has seen (the ``version`` the desk is shown)."""
        return len(self.history)

    # -- what every action does -----------------------------------------------------------
    def record(self, action: str, actor: Actor, at: datetime, **entry: Any) -> Entry:
        """Append the history entry of an action taken now."""
        recorded = Entry(version=self.actions + 1, action=action, actor=actor, at=at, **entry)
        self.history = [*self.history, recorded]
        self.updated_at = at
        return recorded

    def require_open(self, doing: str) -> None:
        if self.status != OPEN:
            raise Conflict(f"case {self.number} is resolved: reopen it before you {doing}")

    def answered(self, at: datetime) -> None:
        """The desk's clock stops at the first agent answer after (re)opening."""
        if self.awaiting_response:
            self.awaiting_response = False
            self.first_response_at = at

    # -- the actions ----------------------------------------------------------------------
    def add_message(self, actor: Actor, body: str, at: datetime) -> Entry:
        self.require_open("add a message")
        if actor.kind == "agent":
            self.answered(at)
        return self.record("message", actor, at, body=body, public=True)

    def assign(self, assignee_id: UUID, actor: Actor, at: datetime) -> Entry | None:
        """Take or hand over; None when the case already has that assignee (nothing to record)."""
        self.require_open("assign it")
        if self.assignee_id == str(assignee_id):
            return None
        details = {"assignee_id": str(assignee_id), "previous_assignee_id": self.assignee_id}
        self.assignee_id = str(assignee_id)
        return self.record("assigned", actor, at, details=details)

    def resolve(self, resolution: str, actor: Actor, at: datetime) -> Entry:
        self.require_open("resolve it")
        self.status, self.resolution, self.resolved_at = RESOLVED, resolution, at
        self.answered(at)
        return self.record("resolved", actor, at, body=resolution, public=True)

    def reopen(self, reason: str, actor: Actor, at: datetime, due: datetime) -> Entry:
        if self.status != RESOLVED:
            raise Conflict(f"case {self.number} is not resolved: nothing to reopen")
        self.status, self.awaiting_response, self.first_response_due = OPEN, True, due
        self.first_response_at = self.resolved_at = None
        return self.record("reopened", actor, at, details={"reason": reason})

    def is_overdue(self, now: datetime) -> bool:
        """Open, still awaiting the desk's first answer, and past its due date."""
        return self.status == OPEN and self.awaiting_response and self.first_response_due < now
