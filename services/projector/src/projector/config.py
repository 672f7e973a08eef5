"""The projector's settings: the only reader of the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from secop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "projector"
    http_port: int = 8005
    public_base_url: str = "http://127.0.0.1:8005"

    pseudonym_key: SecretStr = Field(
        description="Key of the keyed hash that replaces personal data in the copies (at least "
        "32 characters; changing it changes every hash, so joins across the change break)."
    )
    projector_batch_max_records: int = Field(default=500, ge=1, le=5000)

    @field_validator("pseudonym_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < 32:
            raise ValueError("PSEUDONYM_KEY must hold at least 32 bytes")
        return value
