"""The membership service's settings: the only reader of the environment."""

from __future__ import annotations

from pydantic import Field
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
    max_drafts_per_user: int = Field(
        default=3, ge=1, description="Drafts one user may hold at once (beyond: 409)."
    )
