"""The account aggregate: its form, documents, lifecycle and roster in one document.

Why one document: every rule that spans parts of an account is then decided on the state it
changes, and the document's version (``secop_runtime.aggregates``) arbitrates between two
writers, with no turn or lock:

- "Finalizar" reads the form and the documents it freezes; an upload that lands meanwhile
  loses the race and finds the account submitted;
- the roster (``members``) keeps at least one administrator even when two administrators
  cancel each other at once, takes one live membership per user, and one decision per request;
- an invitation (``invitations``) is one per address, never to a member, accepted once, and
  only its newest link works; the account's daily budget of invitation emails
  (``invitation_emails``) is spent in the same write as the email it pays for;
- a draft's ``draft_slot`` (``{user}:{n}``, unique while it is a draft) bounds the drafts a user
  holds: the unique index refuses a slot taken twice, and submission frees it in the same write.

One live account per NIT is not decided here but by the NIT claims (a unique ``_id``), since it
spans accounts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field
from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import (
    AccountActivated,
    AccountChangesRequested,
    AccountDecisionPayload,
    AccountRejected,
    DocumentRef,
    EntitySubmitted,
    EntitySubmittedPayload,
    MixedProfileChanged,
    MixedProfileChangedPayload,
)
from secop_runtime.aggregates import Aggregate
from secop_runtime.errors import Conflict, Incomplete, NotFound
from secop_runtime.events import new_event

from membership.domain import forms
from membership.domain import memberships as m
from membership.domain.documents import StoredDocument, allowed_documents
from membership.domain.invitation_book import InvitationBook
from membership.domain.roster import PRODUCER

DRAFT, PENDING_ACTIVATION, ACTIVE = "draft", "pending_activation", "active"
CHANGES_REQUESTED, REJECTED = "changes_requested", "rejected"
EDITABLE = frozenset({DRAFT, CHANGES_REQUESTED})
#: Accounts others may ask to join (a draft is still being filled in; a rejected one is dead).
JOINABLE = frozenset({PENDING_ACTIVATION, ACTIVE, CHANGES_REQUESTED})

#: The service desk's decision -> the status it leads to and the event that tells it.
DESK_DECISIONS: dict[str, tuple[str, type[Event]]] = {
    "approve": (ACTIVE, AccountActivated),
    "request_changes": (CHANGES_REQUESTED, AccountChangesRequested),
    "reject": (REJECTED, AccountRejected),
}


class Account(Aggregate, forms.AccountForm, InvitationBook):
    """A buyer entity or a supplier, from draft to active (or rejected), with its roster and
    the invitations that lead into it (``InvitationBook`` extends ``Roster``)."""

    kind: Literal["entity", "supplier"]
    status: str = DRAFT
    mixed_profile: bool = False
    submissions: int = 0
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    activated_at: datetime | None = None
    last_decision: dict[str, Any] | None = None
    draft_slot: str | None = None
    documents: dict[str, StoredDocument] = Field(default_factory=dict)

    @classmethod
    def start(
        cls, account_id: str, kind: str, form: dict[str, Any], founder: str, at: datetime
    ) -> Account:
        """A draft whose founder is its (accepted) administrator."""
        account = cls(
            id=account_id, kind=kind, created_by=founder, created_at=at, updated_at=at, **form
        )
        account.members = [
            m.Membership(
                membership_id=str(uuid.uuid4()),
                user_id=founder,
                status=m.ACCEPTED,
                roles=m.founder_roles(account.is_natural_person),
                requested_at=at,
                accepted_at=at,
                status_changed_at=at,
                founder=True,
            )
        ]
        return account

    @property
    def is_natural_person(self) -> bool:
        return self.kind == "supplier" and self.organisation_type == "natural_person"

    @property
    def is_private_body(self) -> bool:
        return forms.is_private_body(self.model_dump())

    @property
    def joinable(self) -> bool:
        return self.status in JOINABLE

    @property
    def may_invite(self) -> bool:
        """Only an active account invites: an entity is vetted by the service desk first."""
        return self.status == ACTIVE

    # -- the form and its documents ---------------------------------------------------------
    def check_editable(self) -> None:
        """Only a draft (or an account sent back for changes) is edited."""
        if self.status not in EDITABLE:
            raise Conflict(f"the account is {self.status}: only a draft can be edited")

    def edit(self, changes: dict[str, Any], at: datetime) -> None:
        self.check_editable()
        for name, value in changes.items():
            setattr(self, name, value)
        self.updated_at = at

    def check_upload(self, doc_type: str) -> None:
        allowed = allowed_documents(self.kind, self.organisation_type)
        if doc_type not in allowed:
            raise NotFound(
                f"a {self.kind} account has no document '{doc_type}'; "
                f"its documents are: {', '.join(sorted(allowed))}"
            )
        if self.status not in EDITABLE:
            raise Conflict(f"the account is {self.status}: its documents are fixed")

    def attach(self, doc_type: str, document: StoredDocument) -> StoredDocument | None:
        """Make ``document`` the current ``doc_type``; returns the one it replaces. An upload
        is a use of the draft: it does not expire meanwhile."""
        self.check_upload(doc_type)
        previous = self.documents.get(doc_type)
        self.documents = {**self.documents, doc_type: document}
        self.updated_at = document.uploaded_at
        return previous

    # -- the lifecycle ----------------------------------------------------------------------
    def summary(
        self, administrators: list[PersonRef], recipients: list[PersonRef] | None = None
    ) -> dict[str, Any]:
        """``AccountSummary`` fields: who notification and support must address (``recipients``:
        the members who receive the account's activation notices)."""
        return {
            "account_id": self.id,
            "kind": self.kind,
            "legal_name": self.legal_name,
            "short_name": self.short_name or "",
            "nit": self.nit,
            "country": self.country,
            "department": self.department or "",
            "municipality": self.municipality or "",
            "notification_email": self.notification_email or "",
            "administrators": administrators,
            "notice_recipients": recipients,
        }

    def submit(
        self,
        at: datetime,
        administrators: list[PersonRef],
        submitter: PersonRef,
        recipients: list[PersonRef] | None = None,
    ) -> list[Event]:
        """ "Finalizar": a complete supplier becomes active, a complete entity waits for the
        service desk; anything missing is listed at once."""
        if self.status not in EDITABLE:
            raise Conflict(f"the account is {self.status}: it cannot be submitted")
        if missing := forms.missing_items(self.model_dump(), set(self.documents)):
            raise Incomplete(missing)
        resubmission = self.status == CHANGES_REQUESTED
        self.submitted_at, self.updated_at, self.draft_slot = at, at, None
        self.submissions += 1
        summary = self.summary(administrators, recipients)
        if self.kind == "supplier":
            self.status, self.activated_at = ACTIVE, at
            payload = AccountDecisionPayload(**summary, decided_at=at)
            return [new_event(AccountActivated, PRODUCER, payload)]
        self.status = PENDING_ACTIVATION
        submitted = EntitySubmittedPayload(
            **summary,
            organisation_type=self.organisation_type or "",
            business_area=self.business_area or "",
            is_private_body=self.is_private_body,
            documents=self.document_refs(),
            submitted_by=submitter,
            resubmission=resubmission,
            submitted_at=at,
        )
        return [new_event(EntitySubmitted, PRODUCER, submitted)]

    def document_refs(self) -> list[DocumentRef]:
        keys = {"document_id", "filename", "content_type", "size", "sha256"}
        return [
            DocumentRef(doc_type=t, **self.documents[t].model_dump(include=keys))
            for t in sorted(self.documents)
        ]

    def follow_desk(
        self,
        decision: str,
        message: str,
        case_number: str | None,
        decided_at: datetime,
        at: datetime,
        administrators: list[PersonRef],
        agent_id: UUID,
        recipients: list[PersonRef] | None = None,
    ) -> list[Event]:
        """Apply the desk's decision to an entity waiting for it; anything else (a redelivery,
        a late contrary decision) changes nothing. A rejection closes the account's pending
        invitations (``InvitationRevoked``, reason ``account_rejected``, by the desk's agent)."""
        if self.status != PENDING_ACTIVATION:
            return []
        status, event_type = DESK_DECISIONS[decision]
        self.status, self.updated_at = status, at
        self.last_decision = {"decision": decision, "case_number": case_number, "at": at}
        if status == ACTIVE:
            self.activated_at = at
        payload = AccountDecisionPayload(
            **self.summary(administrators, recipients),
            message=message,
            case_number=case_number,
            decided_at=decided_at,
        )
        closed = self.close_pending_invitations(agent_id, at) if status == REJECTED else []
        return [new_event(event_type, PRODUCER, payload), *closed]

    def enable_mixed_profile(
        self, case_number: str | None, changed_at: datetime, at: datetime
    ) -> list[Event]:
        """An entity may act as a supplier too; already enabled: nothing happens."""
        if self.kind != "entity" or self.mixed_profile:
            return []
        self.mixed_profile, self.updated_at = True, at
        payload = MixedProfileChangedPayload(
            account_id=self.id, enabled=True, case_number=case_number, changed_at=changed_at
        )
        return [new_event(MixedProfileChanged, PRODUCER, payload)]


def free_draft_slots(user_id: str, drafts: list[Account], limit: int) -> list[str]:
    """The slots a user's next draft may take: ``limit`` in all, less those their drafts hold
    (a draft from before slots existed holds one without naming it)."""
    taken = {a.draft_slot for a in drafts}
    free = [f"{user_id}:{n}" for n in range(limit) if f"{user_id}:{n}" not in taken]
    return free[: max(0, limit - len(drafts))]
