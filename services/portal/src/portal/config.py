"""The portal's settings: the only reader of the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from secop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "portal"
    http_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"

    registration_url: str = Field(
        default="http://127.0.0.1:8001", description="Registration's API, as the portal calls it."
    )
    membership_url: str = Field(default="http://127.0.0.1:8002")
    support_url: str = Field(default="http://127.0.0.1:8003")
    portal_session_key: SecretStr = Field(
        description="Key that encrypts and signs the session cookie (at least 32 bytes; "
        "changing it signs everyone out)."
    )
    portal_secure_cookies: bool = Field(
        default=True,
        description="Mark cookies Secure (sent over HTTPS only). False only for local "
        "development over plain http on 127.0.0.1.",
    )
    portal_session_max_age_s: int = Field(
        default=8 * 3600,
        ge=60,
        description="The cookie's own life; a session ends sooner when its access token expires.",
    )
    portal_upload_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="Largest document the portal passes on."
    )
    portal_backend_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("portal_session_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < 32:
            raise ValueError("PORTAL_SESSION_KEY must hold at least 32 bytes")
        return value
