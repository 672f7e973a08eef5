"""Pydantic models at the HTTP boundary (request bodies and responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

Kind = Literal["entity", "supplier"]
BusinessArea = Literal["public", "public_private", "private"]
Order = Literal["national", "territorial"]
Text = Field(default=None, max_length=300)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LegalRepresentative(Strict):
    full_name: str = Field(min_length=1, max_length=200)
    document_type: str = Field(default="CC", max_length=20)
    document_number: str = Field(min_length=3, max_length=20)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=30)


class FinancialData(Strict):
    year: int | None = Field(default=None, ge=1900, le=2100)
    fiscal_year: int | None = Field(default=None, ge=1900, le=2100)
    equity: float | None = None
    current_assets: float | None = None
    total_assets: float | None = None
    current_liabilities: float | None = None
    total_liabilities: float | None = None
    operating_income: float | None = None
    interest_expense: float | None = None


class BankAccount(Strict):
    bank: str = Field(min_length=1, max_length=100)
    account_type: Literal["savings", "checking"]
    number: str = Field(pattern=r"^[0-9-]{4,30}$")


class AccountFields(Strict):
    """Parts 1 and 2 of the account form; all optional until "Finalizar" (the draft is kept)."""

    country: str | None = Field(default=None, min_length=2, max_length=2)
    legal_name: str | None = Field(default=None, min_length=1, max_length=300)
    short_name: str | None = Field(default=None, max_length=100)
    document_type: str | None = Field(default=None, max_length=20)
    nit: str | None = Field(default=None, max_length=30)
    department: str | None = Field(default=None, max_length=100)
    municipality: str | None = Field(default=None, max_length=100)
    address: str | None = Text
    postal_code: str | None = Field(default=None, pattern=r"^[0-9]{4,10}$")
    phone: str | None = Field(default=None, max_length=30)
    office_email: EmailStr | None = None
    notification_email: EmailStr | None = None
    business_area: BusinessArea | None = None
    organisation_type: str | None = Field(default=None, max_length=40)
    # entity
    siif_registered: bool | None = None
    pci_code: str | None = Field(default=None, max_length=40)
    spgr_registered: bool | None = None
    spgr_code: str | None = Field(default=None, max_length=40)
    decentralised: bool | None = None
    parent_account_id: str | None = Field(default=None, max_length=64)
    order: Order | None = None
    branch: str | None = Field(default=None, max_length=100)
    sector: str | None = Field(default=None, max_length=100)
    entity_type: str | None = Field(default=None, max_length=100)
    # supplier
    msme: bool | None = None
    tax_regime: str | None = Field(default=None, max_length=100)
    website: str | None = Field(default=None, max_length=300)
    social_links: list[str] | None = Field(default=None, max_length=10)
    legal_representative: LegalRepresentative | None = None
    financial: FinancialData | None = None
    bank_account: BankAccount | None = None


class AccountCreate(AccountFields):
    kind: Kind
    legal_name: str = Field(min_length=1, max_length=300)
    nit: str = Field(min_length=1, max_length=30)
    document_type: str = Field(default="NIT", max_length=20)
    country: str = Field(default="CO", min_length=2, max_length=2)


class AccountCreated(BaseModel):
    account_id: str
    status: str
    legal_name: str


class AccountPublic(BaseModel):
    account_id: str
    legal_name: str
    short_name: str = ""
    nit: str
    kind: Kind
    municipality: str = ""
    department: str = ""
    country: str
    status: str


class DocumentOut(BaseModel):
    document_id: str
    doc_type: str | None = None
    filename: str
    content_type: str | None = None
    size: int
    sha256: str
    uploaded_at: datetime | None = None


class AccessRequestOut(BaseModel):
    membership_id: str
    status: str


class AcceptBody(Strict):
    roles: list[str] = Field(min_length=1, max_length=5)


class RejectBody(Strict):
    reason: str = Field(default="", max_length=1000)


class RolesBody(Strict):
    roles: list[str] = Field(min_length=1, max_length=5)


class MemberOut(BaseModel):
    membership_id: str
    user_id: str
    full_name: str
    email: str
    requested_at: datetime
    status: str
    status_changed_at: datetime
    accepted_at: datetime | None = None
    roles: list[str]
    reason: str = ""


class MyMembershipOut(BaseModel):
    membership_id: str
    account_id: str
    nit: str
    account_name: str
    kind: Kind
    requested_at: datetime
    accepted_at: datetime | None = None
    status: str
    roles: list[str]


class SupplierProfile(BaseModel):
    account_id: str
    legal_name: str
    short_name: str = ""
    nit: str
    organisation_type: str | None = None
    msme: bool | None = None
    department: str = ""
    municipality: str = ""
    address: str | None = None
    phone: str | None = None
    office_email: str | None = None
    website: str | None = None
    social_links: list[str] = Field(default_factory=list)
    documents: list[DocumentOut]


class DirectoryPage(BaseModel):
    page: int
    page_size: int
    total: int
    items: list[SupplierProfile]


class InvitationCreate(Strict):
    name: str = Field(
        min_length=2,
        max_length=120,
        description="The invitee's full name, as the email addresses them: letters of any "
        "script (accents included), spaces and . ' - only; no digits, addresses or links.",
    )
    email: EmailStr = Field(max_length=320, description="Where the invitation goes.")
    roles: list[str] = Field(min_length=1, max_length=5)


class InvitationOut(BaseModel):
    invitation_id: str
    name: str
    email: str
    roles: list[str]
    invited_by: str
    invited_at: datetime
    sent_at: datetime
    expires_at: datetime
    sends: int
    state: Literal["pending", "accepted", "revoked", "expired", "void"]


class InvitationAccept(Strict):
    token: str = Field(min_length=1, max_length=200)
