"""The settings every service shares; each service subclasses it (its only environment reader)."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Configuration from environment variables (names are the upper-case field names)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "service"
    instance_id: str = Field(default_factory=lambda: socket.gethostname())
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = Field(
        default="", description="Prefix for every topic and consumer group (isolated clusters)."
    )
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_graceful_timeout_s: float = Field(default=15.0, gt=0)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="SASL_SSL: TLS plus a SCRAM principal of the service's own (see README, "
        "security); every producer, consumer and admin client uses the same settings.",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_username: str = Field(default="", description="The service's Kafka principal.")
    kafka_password: SecretStr = SecretStr("")
    kafka_ca_file: str = Field(
        default="",
        description="PEM file of the authority that signed the broker's certificate "
        "(empty: the system's trusted authorities).",
    )

    mongodb_uri: SecretStr = SecretStr("mongodb://127.0.0.1:27017/")
    mongodb_database: str = ""

    outbox_poll_interval_s: float = Field(default=0.5, gt=0)
    outbox_lease_s: float = Field(default=30.0, gt=0)
    outbox_scan_interval_s: float = Field(
        default=5.0, gt=0, description="Full scan for pending events not hinted by this process."
    )
    outbox_scan_interval_max_s: float = Field(
        default=60.0,
        gt=0,
        description="Scans that find nothing back off up to this (hints publish the rest).",
    )
    outbox_batch_linger_s: float = Field(
        default=0.05,
        ge=0,
        description="Hinted events go out at once, but at most one batch per this interval, so "
        "under load one write removes many documents' events instead of one each.",
    )
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_s: float = Field(default=0.2, ge=0)
    consumer_batch_max_records: int = Field(
        default=500,
        ge=1,
        le=5000,
        description="Records taken from Kafka at once: partitions are applied side by side, "
        "each in order, and the batch is committed once.",
    )
    consumer_batch_wait_ms: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="How long an idle consumer waits for records before looking again: the "
        "most a record arriving at an idle consumer waits.",
    )
    processed_events_retention_days: int = Field(default=30, ge=1)
    consumer_max_clock_skew_s: float = Field(
        default=300.0,
        ge=0,
        description="An event whose occurred_at (or revoked_before) lies further ahead than "
        "this is dead-lettered: a forged future time would otherwise win for good.",
    )

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="JSON list of the reverse proxies' addresses or networks (CIDR) whose "
        "X-Forwarded-For is believed, read from the right; empty: the direct peer is the client.",
    )

    jwt_public_keys: str = Field(
        default="", description="JWKS JSON (or a path to it) that verifies access tokens."
    )
    jwt_issuer: str = "secop-registration"
    jwt_audience: str = "secop"

    @model_validator(mode="after")
    def _kafka_credentials(self) -> ServiceSettings:
        if self.kafka_security_protocol == "SASL_SSL" and not (
            self.kafka_username and self.kafka_password.get_secret_value()
        ):
            raise ValueError(
                "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_USERNAME and KAFKA_PASSWORD"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        from secop_runtime.clients import parse_networks

        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {exc}") from None
        return value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def database_name(self) -> str:
        return self.mongodb_database or self.service_name

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka_topic_prefix}{self.service_name}"

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"


def secret(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
