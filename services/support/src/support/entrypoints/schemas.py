"""Request and response bodies of the HTTP API (the public contract, shown in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

System = Literal["SECOP_II", "SECOP_I", "TVEC"]
RequestType = Literal["solicitud", "duda", "peticion", "queja", "reclamo", "sugerencia", "denuncia"]
UserType = Literal["comprador", "proveedor", "ciudadano"]


class Body(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class RequesterIn(Body):
    full_name: str = Field(min_length=1, max_length=200, description="As on the ID document.")
    document_number: str = Field(min_length=3, max_length=30, pattern=r"^[0-9A-Za-z.\-]+$")
    entity_name: str = Field(default="", max_length=300)
    department: str = Field(default="", max_length=100)
    municipality: str = Field(default="", max_length=100)
    email: EmailStr = Field(description="Where the desk answers, and the key to follow the case.")
    phone: str = Field(default="", max_length=30, pattern=r"^[0-9+ ()\-]*$")
    mobile: str = Field(default="", max_length=30, pattern=r"^[0-9+ ()\-]*$")


class OpenCaseIn(Body):
    requester: RequesterIn
    system: System
    request_type: RequestType
    subject: str = Field(min_length=1, max_length=200, description="From the subject catalogue.")
    user_type: UserType
    description: str = Field(min_length=1, max_length=10_000)
    account_id: UUID | None = Field(default=None, description="The account the case is about.")
    nit: str | None = Field(
        default=None, pattern=r"^[0-9]{5,15}$", description="The entity's NIT, no check digit."
    )


class CaseOpenedOut(BaseModel):
    case_number: str = Field(examples=["CCE-2026-000123"])
    status: Literal["open"] = "open"
    first_response_due: datetime


class MessageIn(Body):
    body: str = Field(min_length=1, max_length=10_000)
    email: EmailStr | None = Field(
        default=None, description="The requester's email (not needed with an agent's token)."
    )


class AssignIn(Body):
    assignee_id: UUID | None = Field(default=None, description="Omitted: the calling agent.")


class ResolveIn(Body):
    resolution: str = Field(min_length=1, max_length=10_000)


class ReopenIn(Body):
    reason: str = Field(min_length=1, max_length=10_000)


class DecisionIn(Body):
    decision: Literal["approve", "request_changes", "reject"]
    message: str = Field(default="", max_length=10_000)


class PublicMessage(BaseModel):
    author: Literal["requester", "agent"]
    kind: str = Field(description="message, resolved, activation_decided, ...")
    body: str
    at: datetime


class RequesterCaseOut(BaseModel):
    case_number: str
    status: Literal["open", "resolved"]
    system: str
    request_type: str
    subject: str
    opened_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolved_at: datetime | None
    messages: list[PublicMessage]


class HistoryEntry(BaseModel):
    version: int
    action: str
    actor: dict[str, Any]
    at: datetime
    public: bool
    body: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class QueueItem(BaseModel):
    case_number: str
    status: Literal["open", "resolved"]
    subject: str
    system: str
    request_type: str
    user_type: str
    origin: str
    requester_name: str
    entity_name: str
    account_id: str | None
    assignee_id: str | None
    opened_at: datetime
    first_response_due: datetime | None
    awaiting_response: bool
    overdue: bool


class AgentCaseOut(QueueItem):
    requester: dict[str, Any]
    requester_verified: bool = Field(
        description="The requester wrote on the case with the key its opening email carried "
        "(or the case came from a submission): the email is theirs. A web form's fields are "
        "otherwise only what someone typed."
    )
    description: str
    nit: str | None
    documents: list[dict[str, Any]]
    decision: str | None
    resolution: str | None
    resolved_at: datetime | None
    updated_at: datetime
    version: int
    history: list[HistoryEntry]


class QueueOut(BaseModel):
    items: list[QueueItem]
    total: int
    offset: int
    limit: int


class CredentialsOut(BaseModel):
    case_number: str
    status: Literal["requested"] = "requested"
    detail: str = "If a user matches the case's requester, registration emails them their data."
