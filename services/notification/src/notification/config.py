"""The notification service's settings: the only reader of the environment."""

from __future__ import annotations

import base64
import binascii
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from secop_runtime.settings import ServiceSettings

#: Values people paste from examples; refused so a deployment never runs with a known token.
PLACEHOLDER_TOKENS = frozenset(
    {"changeme", "change-me", "changethis", "change_this", "secret", "token", "operator"}
)
MIN_OPERATOR_TOKEN = 24


class Settings(ServiceSettings):
    # A refused secret must not be echoed in the start-up error.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service_name: str = "notification"
    http_port: int = 8004
    # Links in emails lead to the platform's pages, which registration serves.
    public_base_url: str = "http://127.0.0.1:8001"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        default="none", description="none, starttls (upgrade after connect) or tls (implicit)."
    )
    smtp_validate_certs: bool = True
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    smtp_from: str = "SECOP II <no-reply@secop.gov.co>"
    smtp_idle_check_s: float = Field(
        default=30.0, ge=0, description="A connection idle this long is checked with NOOP first."
    )
    smtp_outage_backoff_max_s: float = Field(default=30.0, gt=0)

    max_concurrent_sends: int = Field(default=4, ge=1, le=64)
    delivery_max_attempts: int = Field(default=5, ge=1)
    retry_backoff_base_s: float = Field(default=30.0, gt=0)
    retry_backoff_max_s: float = Field(default=3600.0, gt=0)
    send_lease_s: float = Field(default=120.0, gt=0)
    sender_poll_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often to look for due deliveries (retries, other instances' records); "
        "new ones are sent at once. The look is a query over all deliveries.",
    )

    seal_private_key: SecretStr = Field(
        description="Base64 X25519 private key that opens tokens sealed for this service."
    )
    seal_previous_private_keys: list[SecretStr] = Field(
        default_factory=list,
        description="JSON list of keys replaced by SEAL_PRIVATE_KEY, still tried when a token "
        "does not open with it: events sealed for the old key are still in flight during a "
        "rotation (README, runbook).",
    )
    operator_token: SecretStr = Field(description="Bearer credential of the operator endpoints.")

    desk_hours: str = (
        "Lunes a viernes de 7:00 a. m. a 7:00 p. m. y sábados de 8:00 a. m. a 12:00 m. "
        "(hora de Bogotá)"
    )
    desk_phones: str = "Línea Nacional 018000-52-0808 / En Bogotá (601) 745-8788"
    desk_contact: str = "soporte@secop.gov.co · www.colombiacompra.gov.co/soporte"

    @field_validator("seal_private_key")
    @classmethod
    def _key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        _check_seal_key("SEAL_PRIVATE_KEY", value)
        return value

    @field_validator("seal_previous_private_keys")
    @classmethod
    def _keys_are_32_bytes(cls, values: list[SecretStr]) -> list[SecretStr]:
        for value in values:
            _check_seal_key("SEAL_PREVIOUS_PRIVATE_KEYS", value)
        return values

    @field_validator("operator_token")
    @classmethod
    def _no_placeholder(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if token.lower() in PLACEHOLDER_TOKENS or len(token) < MIN_OPERATOR_TOKEN:
            raise ValueError(
                f"OPERATOR_TOKEN must be a random string of at least {MIN_OPERATOR_TOKEN} chars"
            )
        if len(set(token)) < 8:
            raise ValueError("OPERATOR_TOKEN is too repetitive to be a secret")
        return value

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> Self:
        # A lease that ends during a slow SMTP exchange would let another instance send again.
        if self.send_lease_s <= 2 * self.smtp_timeout_s:
            raise ValueError("SEND_LEASE_S must exceed twice SMTP_TIMEOUT_S")
        return self


def _check_seal_key(name: str, value: SecretStr) -> None:
    """An X25519 private key: 32 bytes in base64 (the value is never repeated in the error)."""
    try:
        raw = base64.b64decode(value.get_secret_value(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{name} must be base64") from exc
    if len(raw) != 32:
        raise ValueError(f"{name} must decode to 32 bytes")
