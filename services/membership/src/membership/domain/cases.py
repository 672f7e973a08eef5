"""Support cases about an account, as its members follow them on the desk ("Escritorio").

Membership follows support's case events (never calling support). A case counts as the
account's when it was opened by the account's entity submission, or by one of its accepted
members signed in (support names the user whose token opened it: ``opened_by_user``). Anyone
may open a case naming any account, without logging in, in anyone's name: a stranger must not
write on another account's desk nor mail its members.

Support's events come on one topic per type, so a case's resolution may arrive before its
opening: each event applies only if it is newer than the case's last status change
(``status_at``), and a case heard of before its opening waits, unqualified and silent, until
``CaseOpened`` says whether it is the account's.

``CaseAssigned`` names the agent working the case: while it is open and the account's, that
agent may read the account's registration documents (``service_layer.documents.may_read``).
``EntitySubmissionLinked`` makes a case the account's when support joins the entity's
submission to an activation case opened earlier on the web.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import AccountCaseUpdated, AccountCaseUpdatedPayload
from secop_runtime.aggregates import Aggregate
from secop_runtime.events import new_event

from membership.domain.roster import PRODUCER

Change = Literal["opened", "answered", "resolved", "reopened"]
#: What a resolution or a reopening leaves the case as (an answer leaves its status alone).
STATUS_AFTER: dict[str, Literal["open", "resolved"]] = {"resolved": "resolved", "reopened": "open"}


class AccountCase(Aggregate):
    """One support case about an account (``id``: the case number)."""

    account_id: str
    #: True: the account's (shown and mailed); False: a stranger's; None: not opened yet here.
    qualified: bool | None = None
    request_type: str = ""
    origin: str = ""
    status: Literal["open", "resolved"] = "open"
    status_at: datetime
    opened_at: datetime | None = None
    updated_at: datetime
    answered_at: datetime | None = None
    last_change: Change = "opened"
    #: The desk agent working the case (``CaseAssigned``), and when they took it.
    assignee_id: str | None = None
    assigned_at: datetime | None = None

    @classmethod
    def heard_of(cls, case_number: str, account_id: str, at: datetime) -> AccountCase:
        return cls(id=case_number, account_id=account_id, status_at=at, updated_at=at)

    def open(
        self,
        qualified: bool,
        request_type: str,
        origin: str,
        opened_at: datetime,
        account: tuple[str, str],
        recipients: list[PersonRef],
    ) -> list[Event]:
        """``CaseOpened``: whether the case is the account's is decided once; its members are
        told if it is (and the case is still open: a resolution may have come first)."""
        if self.qualified is not None:
            return []
        self.qualified, self.request_type, self.origin = qualified, request_type, origin
        self.opened_at = opened_at
        if opened_at >= self.status_at:
            self.status, self.status_at, self.last_change = "open", opened_at, "opened"
        self.updated_at = max(self.updated_at, opened_at)
        if not qualified:
            return []
        return [self._told("opened", opened_at, account, recipients)]

    def follow(
        self,
        change: Change,
        at: datetime,
        account: tuple[str, str],
        recipients: list[PersonRef],
        *,
        quiet: bool = False,
    ) -> list[Event]:
        """The desk's answer (once per answer), or a resolution or a reopening applied if
        newer than the last status change; ``quiet``: recorded, told to nobody."""
        if change == "answered":
            if self.answered_at is not None and at <= self.answered_at:
                return []  # this answer again, or an older one
            self.answered_at = at
        elif at < self.status_at or (at == self.status_at and change == self.last_change):
            return []  # older news, or this very event again
        else:
            self.status, self.status_at = STATUS_AFTER[change], at
        self.last_change = change
        self.updated_at = max(self.updated_at, at)
        if not self.qualified or quiet:
            return []
        return [self._told(change, at, account, recipients)]

    def link_submission(
        self, account_id: str, request_type: str, opened_at: datetime, at: datetime
    ) -> None:
        """``EntitySubmissionLinked``: the entity's submission joined this case (opened on the
        web, perhaps naming no account or by someone not signed in), so it is the account's
        own from now on, as a case the submission opened. Nobody is told: the submission is."""
        self.account_id, self.qualified, self.origin = account_id, True, "entity_submitted"
        self.request_type = self.request_type or request_type
        self.opened_at = self.opened_at or opened_at
        self.updated_at = max(self.updated_at, at)

    def assign(self, assignee_id: str, at: datetime) -> None:
        """The newest assignment wins (a handover replaces the previous agent); nobody is told."""
        if self.assigned_at is None or at > self.assigned_at:
            self.assignee_id, self.assigned_at = assignee_id, at

    def worked_by(self, agent_id: str) -> bool:
        """The account's own case, still open, in the hands of ``agent_id``: what lets a desk
        agent read the account's registration documents (``domain.documents``)."""
        return self.qualified is True and self.status == "open" and self.assignee_id == agent_id

    def _told(
        self, change: Change, at: datetime, account: tuple[str, str], recipients: list[PersonRef]
    ) -> Event:
        name, nit = account
        payload = AccountCaseUpdatedPayload(
            account_id=self.account_id,
            account_name=name,
            nit=nit,
            case_number=self.id,
            change=change,
            status=self.status,
            request_type=self.request_type,
            changed_at=at,
            notice_recipients=recipients,
        )
        return new_event(AccountCaseUpdated, PRODUCER, payload)

    def shown(self) -> dict[str, object]:
        return {
            "case_number": self.id,
            "request_type": self.request_type,
            "status": self.status,
            "last_change": self.last_change,
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
        }
