"""Events published by the membership service, keyed by ``account_id``.

Each carries what its consumers need to act (who must be told, with their addresses) so that no
consumer has to call membership back. Document metadata only: never file contents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from secop_contracts.common import PersonRef
from secop_contracts.envelope import Event, Payload, personal_data, sealed

AccountKind = Literal["entity", "supplier"]
#: The notices of an account a member may choose to receive ("Suscripción a notificaciones").
Notice = Literal[
    "access_requests", "access_decisions", "activation", "document_changes", "case_updates"
]
NOTICES: tuple[str, ...] = (
    "access_requests",
    "access_decisions",
    "activation",
    "document_changes",
    "case_updates",
)


def notice_recipients(notice: str) -> Any:
    """A field listing the members who chose ``notice`` (resolved by membership when the event
    is written, so that notification honours the choices without calling membership)."""
    return Field(
        default=None,
        description=f"The account's members who receive `{notice}` notices, as they chose. "
        "Absent from events written before subscriptions existed.",
    )


class DocumentRef(Payload):
    document_id: str
    doc_type: str
    filename: str = personal_data(description="As uploaded: often a person's name.")
    content_type: str
    size: int
    sha256: str


class AccountSummary(Payload):
    """What notification and support need to address an account and its administrators."""

    account_id: UUID
    kind: AccountKind
    # Personal for a natural-person supplier (their name, their ID number as NIT).
    legal_name: str = personal_data()
    short_name: str = personal_data(default="")
    nit: str = personal_data()
    country: str = "CO"
    department: str = ""
    municipality: str = ""
    notification_email: str = personal_data()
    administrators: list[PersonRef] = Field(default_factory=list)
    notice_recipients: list[PersonRef] | None = notice_recipients("activation")


class EntitySubmittedPayload(AccountSummary):
    organisation_type: str = ""
    business_area: str = ""
    is_private_body: bool = False
    documents: list[DocumentRef] = Field(default_factory=list)
    submitted_by: PersonRef
    resubmission: bool = False
    submitted_at: datetime


class EntitySubmitted(Event):
    """A buyer entity was submitted ("Finalizar") and waits for the service desk's activation."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: EntitySubmittedPayload


class AccountDecisionPayload(AccountSummary):
    message: str = personal_data(default="", description="The service desk's words to the account.")
    case_number: str | None = None
    decided_at: datetime


class AccountActivated(Event):
    """An account became active: a supplier on submission, an entity on the desk's approval."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: AccountDecisionPayload


class AccountChangesRequested(Event):
    """The service desk asked the administrator to correct the entity's data or documents."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: AccountDecisionPayload


class AccountRejected(Event):
    """The service desk refused to activate the entity."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: AccountDecisionPayload


class MixedProfileChangedPayload(Payload):
    account_id: UUID
    enabled: bool
    case_number: str | None = None
    changed_at: datetime


class MixedProfileChanged(Event):
    """The service desk enabled (or withdrew) an entity's permission to act as a supplier."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: MixedProfileChangedPayload


class AccessRequestedPayload(Payload):
    membership_id: UUID
    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    user: PersonRef
    administrators: list[PersonRef]
    notice_recipients: list[PersonRef] | None = Field(
        default=None,
        description="The administrators who receive `access_requests` notices: those who chose "
        "them, or every administrator when none did. Absent from events written before "
        "subscriptions existed (then: `administrators`).",
    )
    requested_at: datetime


class AccessRequested(Event):
    """A user asked to join an account; its administrators must be told."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: AccessRequestedPayload


class AccessDecidedPayload(Payload):
    membership_id: UUID
    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    user: PersonRef
    decision: Literal["accepted", "rejected", "cancelled", "reverted"]
    roles: list[str] = Field(default_factory=list)
    reason: str = personal_data(default="")
    decided_by: UUID
    decided_at: datetime
    notice_recipients: list[PersonRef] | None = notice_recipients("access_decisions")


class AccessDecided(Event):
    """An administrator accepted, rejected, cancelled or reverted a membership."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: AccessDecidedPayload


class MemberRolesChangedPayload(Payload):
    membership_id: UUID
    account_id: UUID
    user_id: UUID
    roles: list[str]
    changed_by: UUID
    changed_at: datetime


class MemberRolesChanged(Event):
    """An administrator changed a member's roles inside the account."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: MemberRolesChangedPayload


class MemberInvitedPayload(Payload):
    """An invitation ("Crear usuarios") as its invitee must receive it. The invitee may have
    no user yet: they are addressed by the name and email the administrator wrote."""

    invitation_id: UUID
    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    kind: AccountKind
    name: str = personal_data(description="The invitee's name, as the administrator wrote it.")
    email: str = personal_data(description="The invitee's address, where the link goes.")
    roles: list[str] = Field(description="The roles the invitee will have once they accept.")
    invited_by: UUID = Field(description="The administrator who sent this link.")
    inviter_name: str = personal_data(default="")
    sealed_invitation_token: str = sealed(
        description="The single-use link token; only the newest one sent works."
    )
    resent: bool = Field(default=False, description="A new link replacing an earlier one.")
    invited_at: datetime
    sent_at: datetime
    expires_at: datetime


class MemberInvited(Event):
    """An administrator invited a person to join the account with some roles (or sent the
    invitation again, with a new link: the older one stops working)."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: MemberInvitedPayload


class InvitationRevokedPayload(Payload):
    invitation_id: UUID
    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    name: str = personal_data()
    email: str = personal_data()
    revoked_by: UUID = Field(
        description="The administrator who withdrew it; for `account_rejected`, the service "
        "desk's agent who rejected the account."
    )
    revoked_at: datetime
    reason: Literal["revoked", "account_rejected"] = Field(
        default="revoked",
        description="`revoked`: an administrator withdrew it; `account_rejected`: the service "
        "desk rejected the account, and every pending invitation of it closed with it.",
    )
    notify_invitee: bool = Field(
        default=True,
        description="False when the invitee is not emailed about it: the account's (or the "
        "address's) daily budget of invitation emails was spent. The invitation is revoked "
        "all the same.",
    )


class InvitationRevoked(Event):
    """A pending invitation was withdrawn (by an administrator, or with its account when the
    service desk rejected it): its link no longer works."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: InvitationRevokedPayload


class InvitationAcceptedPayload(Payload):
    invitation_id: UUID
    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    membership_id: UUID = Field(description="The accepted membership the invitation became.")
    user: PersonRef
    roles: list[str]
    invited_by: UUID
    accepted_at: datetime


class InvitationAccepted(Event):
    """The invitee, signed in with the invited address, followed the link: they are now an
    accepted member with the invited roles (no ``AccessDecided`` unless they had a pending
    access request, which this decides)."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: InvitationAcceptedPayload


class LibraryDocumentChangedPayload(Payload):
    """One change to a document of the account's library ("Biblioteca de documentos")."""

    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    kind: AccountKind
    document_id: UUID = Field(description="The library document; its versions share it.")
    title: str = personal_data(description="As the administrator named it.")
    action: Literal["added", "replaced", "removed"]
    version: int = Field(description="The version added (or, when removed, the last one).")
    filename: str = personal_data(default="", description="As uploaded: often a person's name.")
    content_type: str = ""
    size: int = 0
    sha256: str = ""
    changed_by: UUID
    changed_at: datetime
    notice_recipients: list[PersonRef] | None = notice_recipients("document_changes")


class LibraryDocumentChanged(Event):
    """An administrator added, replaced (a new version) or removed a library document."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: LibraryDocumentChangedPayload


class AccountCaseUpdatedPayload(Payload):
    """A support case about the account moved, as its members may follow it: the case's
    number and state only, never its messages (they are the requester's and the desk's)."""

    account_id: UUID
    account_name: str = personal_data()
    nit: str = personal_data()
    case_number: str
    change: Literal["opened", "answered", "resolved", "reopened"]
    status: Literal["open", "resolved"]
    request_type: str = ""
    changed_at: datetime
    notice_recipients: list[PersonRef] | None = notice_recipients("case_updates")


class AccountCaseUpdated(Event):
    """A support case about the account (opened by one of its members, or by its entity's
    submission) was opened, answered by the desk, resolved or reopened."""

    KEY_FIELD: ClassVar[str] = "account_id"
    payload: AccountCaseUpdatedPayload


EVENTS: tuple[type[Event], ...] = (
    EntitySubmitted,
    AccountActivated,
    AccountChangesRequested,
    AccountRejected,
    MixedProfileChanged,
    AccessRequested,
    AccessDecided,
    MemberRolesChanged,
    MemberInvited,
    InvitationRevoked,
    InvitationAccepted,
    LibraryDocumentChanged,
    AccountCaseUpdated,
)
