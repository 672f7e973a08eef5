"""Events published by the support service (the service desk), keyed by ``case_number``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from secop_contracts.envelope import Event, Payload, personal_data, sealed


class Requester(Payload):
    full_name: str = personal_data()
    document_number: str = personal_data(default="")
    entity_name: str = personal_data(default="")
    department: str = ""
    municipality: str = ""
    email: str = personal_data()
    phone: str = personal_data(default="")
    mobile: str = personal_data(default="")
    time_zone: str = "America/Bogota"


class CaseOpenedPayload(Payload):
    case_number: str
    requester: Requester
    system: Literal["SECOP_II", "SECOP_I", "TVEC"]
    request_type: str
    subject: str
    user_type: Literal["comprador", "proveedor", "ciudadano"]
    description: str = personal_data()
    account_id: UUID | None = None
    opened_by_user: UUID | None = Field(
        default=None,
        description="The user who opened the case signed in (their token proved it); None when "
        "opened without logging in, when only the typed email names the requester.",
    )
    origin: Literal["web", "entity_submitted"] = "web"
    opened_at: datetime
    first_response_due: datetime
    sealed_access_key: str | None = sealed(
        default=None,
        description="The case's access key, emailed to the requester: with their email it lets "
        "them follow the case and write on it.",
    )


class CaseOpened(Event):
    """A support case exists; its number lets the requester follow it."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: CaseOpenedPayload


class CaseMessageAddedPayload(Payload):
    case_number: str
    message_id: str
    author: Literal["requester", "agent"]
    agent_id: UUID | None = None
    body: str = personal_data()
    requester: Requester
    added_at: datetime
    account_id: UUID | None = Field(
        default=None, description="The account the case is about, if any."
    )


class CaseMessageAdded(Event):
    """A public message on a case; an agent's is emailed to the requester."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: CaseMessageAddedPayload


class CaseAssignedPayload(Payload):
    case_number: str
    assignee_id: UUID
    assigned_by: UUID
    assigned_at: datetime
    account_id: UUID | None = Field(
        default=None,
        description="The account the case is about, if any: its assignee may read the "
        "account's registration documents while the case is open.",
    )


class CaseAssigned(Event):
    """An agent took or handed over a case."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: CaseAssignedPayload


class EntitySubmissionLinkedPayload(Payload):
    case_number: str
    account_id: UUID
    request_type: str
    opened_at: datetime
    linked_at: datetime


class EntitySubmissionLinked(Event):
    """An entity's submission joined the activation case its administrator had opened
    earlier (on the web): the case is now that account's own, as if the submission had opened
    it. Membership learns from it who may work the account's documents."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: EntitySubmissionLinkedPayload


class CaseResolvedPayload(Payload):
    case_number: str
    resolution: str = personal_data()
    requester: Requester
    resolved_by: UUID
    resolved_at: datetime
    account_id: UUID | None = Field(
        default=None, description="The account the case is about, if any."
    )


class CaseResolved(Event):
    """An agent resolved the case; the resolution is emailed to the requester."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: CaseResolvedPayload


class CaseReopenedPayload(Payload):
    case_number: str
    reason: str = personal_data(default="")
    reopened_by: UUID
    reopened_at: datetime
    account_id: UUID | None = Field(
        default=None, description="The account the case is about, if any."
    )


class CaseReopened(Event):
    """A resolved case went back to the queue."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: CaseReopenedPayload


class AccountActivationDecidedPayload(Payload):
    case_number: str
    account_id: UUID
    decision: Literal["approve", "request_changes", "reject"]
    message: str = personal_data(default="")
    agent_id: UUID
    requester: Requester | None = None
    decided_at: datetime


class AccountActivationDecided(Event):
    """The service desk's decision on an entity's activation; membership applies it."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: AccountActivationDecidedPayload


class MixedProfileDecidedPayload(Payload):
    case_number: str
    account_id: UUID
    decision: Literal["approve", "reject"]
    message: str = personal_data(default="")
    agent_id: UUID
    requester: Requester | None = None
    decided_at: datetime


class MixedProfileDecided(Event):
    """The service desk's decision on enabling an entity's mixed (buyer and supplier) profile."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: MixedProfileDecidedPayload


class CredentialsResendRequestedPayload(Payload):
    case_number: str
    document_number: str = personal_data(default="")
    email: str = personal_data(default="", description="The email the requester gave.")
    agent_id: UUID
    requested_at: datetime = Field(description="Registration emails the matching user, if any.")


class CredentialsResendRequested(Event):
    """An agent asked registration to send a user's data to their registered email."""

    KEY_FIELD: ClassVar[str] = "case_number"
    payload: CredentialsResendRequestedPayload


EVENTS: tuple[type[Event], ...] = (
    CaseOpened,
    CaseMessageAdded,
    CaseAssigned,
    EntitySubmissionLinked,
    CaseResolved,
    CaseReopened,
    AccountActivationDecided,
    MixedProfileDecided,
    CredentialsResendRequested,
)
