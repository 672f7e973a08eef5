"""The membership service's settings: the only reader of the environment."""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, field_validator
from secop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "membership"
    http_port: int = 8002
    public_base_url: str = "http://127.0.0.1:8002"
    document_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="Largest document upload accepted (413)."
    )
    divipola_file: str = Field(
        default="",
        description="CSV of Colombia's DIVIPOLA municipalities; empty accepts any municipality.",
    )
    directory_page_size: int = Field(default=20, ge=1, le=100)
    draft_ttl_days: int = Field(
        default=30,
        ge=1,
        description="A draft nobody has edited or uploaded to for this long is deleted, "
        "releasing its NIT (nobody can hold a NIT with a forgotten draft).",
    )
    document_reads_retention_days: int = Field(
        default=365, ge=1, description="How long outside reads of documents stay listed."
    )
    account_cases_retention_days: int = Field(
        default=365,
        ge=1,
        description="How long a resolved support case stays in membership's view of an "
        "account's cases (the desk lists open ones only).",
    )
    max_drafts_per_user: int = Field(
        default=3, ge=1, description="Drafts one user may hold at once (beyond: 409)."
    )
    notification_seal_public_key: str = Field(
        default="",
        description="Notification's sealing public key (base64): invitation tokens travel in "
        "MemberInvited sealed for it. Without it invitations answer 503 (nothing else needs it).",
    )
    invitation_ttl_days: int = Field(
        default=7, ge=1, le=30, description="How long an invitation's link works."
    )
    invitation_resend_interval_s: int = Field(
        default=60,
        ge=0,
        description="An invitation is sent again at most once per this interval (429 sooner).",
    )
    max_pending_invitations: int = Field(
        default=100,
        ge=1,
        description="Pending invitations one account may hold at once (beyond: 409): each "
        "one emails an address the administrator typed.",
    )
    invitation_max_sends: int = Field(
        default=5,
        ge=1,
        description="Emails one invitation may cause, its first included: the next resend is "
        "409 (create a new invitation instead).",
    )
    invitation_emails_per_day: int = Field(
        default=50,
        ge=1,
        description="Invitation emails (invites, resends, revocation notices) one account may "
        "send in any 24 hours: beyond, invites and resends are 429 with Retry-After, and a "
        "revocation still revokes but tells the invitee nothing.",
    )
    invitation_emails_per_address_per_day: int = Field(
        default=5,
        ge=1,
        description="Invitation emails one address may receive per day (UTC) from all "
        "accounts together: beyond, invites and resends to it are 429.",
    )
    invitations_closed_retention_days: int = Field(
        default=30,
        ge=1,
        description="How long an accepted, revoked, expired or void invitation stays in its "
        "account (then its link answers 'unknown'); the hourly maintenance pass drops older ones.",
    )
    max_closed_invitations: int = Field(
        default=200,
        ge=1,
        description="Closed invitations one account keeps at most, the oldest dropped first: "
        "with MAX_PENDING_INVITATIONS, what bounds the account document.",
    )
    library_max_documents: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Live documents one account's library may hold (beyond: 409); removed "
        "ones do not count.",
    )
    library_versions_kept: int = Field(
        default=10,
        ge=1,
        description="Versions kept per library document: a new version beyond drops the "
        "oldest one, its content and its metadata.",
    )
    library_max_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1,
        description="Bytes one account's library may hold: the sizes of every kept version of "
        "every live document added up (an add or a new version beyond: 409). A removed "
        "document's versions do not count (their contents go at removal).",
    )
    library_removed_retention_days: int = Field(
        default=365,
        ge=1,
        description="How long a removed library document (its history; its contents went at "
        "removal) stays listed to the account's administrators; the hourly maintenance pass "
        "deletes older ones.",
    )

    @field_validator("notification_seal_public_key")
    @classmethod
    def _key_is_32_bytes(cls, value: str) -> str:
        """A malformed key stops the service at start, not an invitation at send time."""
        if not value:
            return value
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("NOTIFICATION_SEAL_PUBLIC_KEY must be base64") from exc
        if len(raw) != 32:
            raise ValueError("NOTIFICATION_SEAL_PUBLIC_KEY must decode to 32 bytes")
        return value
