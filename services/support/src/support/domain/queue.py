"""The desk's work queue: which cases an agent asked to see, most urgent first.

Cases still awaiting the desk's first answer come first, by first-response due date; then the
rest, by due date. The store answers a :class:`QueueFilter` with a query of its own; the
predicate and the order here say what that query must mean (the memory fake uses them as is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from support.domain.cases import Case


@dataclass(frozen=True)
class QueueFilter:
    now: datetime
    status: Literal["open", "resolved", "all"] = "open"
    subject: str | None = None
    #: Only cases with this assignee (a user id); with ``unassigned``, only cases without one.
    assignee: str | None = None
    unassigned: bool = False
    #: True: only overdue cases; False: only cases that are not; None: both.
    overdue: bool | None = None

    def matches(self, case: Case) -> bool:
        return (
            self.status in ("all", case.status)
            and self.subject in (None, case.subject)
            and (not self.unassigned or case.assignee_id is None)
            and self.assignee in (None, case.assignee_id)
            and self.overdue in (None, case.is_overdue(self.now))
        )


def urgency(case: Case) -> tuple[bool, datetime, str]:
    """The queue's order as a sort key."""
    return (not case.awaiting_response, case.first_response_due, case.id)
