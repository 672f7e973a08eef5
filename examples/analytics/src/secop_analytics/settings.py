"""How to reach the broker as the analytics principal, read from the environment.

The variable names are the ones the operators' tooling hands out for a principal
(``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_USERNAME``, ...), so the credentials an analytics team is
given paste in as they are. Command-line flags override them; the password is never a flag (it
would show in the process list).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

log = logging.getLogger(__name__)

#: The copies' topics: ``<prefix>analytics.<Event>`` (their ``.DLT`` twins are not ours to read).
COPY_PREFIX = "analytics."
#: The analytics principal may join only consumer groups whose names start with this.
GROUP_STEM = "analytics"

ENV = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "username": "KAFKA_USERNAME",
    "password": "KAFKA_PASSWORD",
    "ca_file": "KAFKA_CA_FILE",
    "topic_prefix": "KAFKA_TOPIC_PREFIX",
    "group_id": "ANALYTICS_GROUP_ID",
    "database": "ANALYTICS_DATABASE",
}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str = Field(min_length=1, description="host:port[,host:port...]")
    security_protocol: Literal["SASL_SSL", "SSL", "SASL_PLAINTEXT", "PLAINTEXT"] = "SASL_SSL"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    username: str = "analytics"
    password: SecretStr = SecretStr("")
    ca_file: str = Field(default="", description="The broker's CA (PEM); empty: system CAs.")
    topic_prefix: str = Field(
        default="", pattern=r"^[A-Za-z0-9._-]*$", description="Before every topic name (tests)."
    )
    group_id: str = Field(default="", description="Empty: <prefix>analytics-example.")
    database: Path = Path("secop-analytics.duckdb")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.security_protocol.startswith("SASL") and not self.password.get_secret_value():
            raise ValueError("KAFKA_PASSWORD is required with SASL (the analytics password)")
        if not self.group_id:
            object.__setattr__(self, "group_id", f"{self.topic_prefix}{GROUP_STEM}-example")
        if not self.group_id.startswith(self.topic_prefix + GROUP_STEM):
            log.warning(
                "group %r does not start with %r: the broker grants analytics only such groups",
                self.group_id,
                self.topic_prefix + GROUP_STEM,
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from ``env`` (e.g. ``os.environ``); ``overrides`` that are not None win."""
        values: dict[str, Any] = {f: env[v] for f, v in ENV.items() if env.get(v)}
        values |= {k: v for k, v in overrides.items() if v is not None}
        return cls(**values)

    @property
    def topic_pattern(self) -> str:
        """A subscription to every copy, present and future (librdkafka: ``^`` = a regex).

        Topic names hold only letters, digits, ``.``, ``_`` and ``-``: escaping the dots is
        enough, and stays within what librdkafka's small regex engine knows."""
        literal = (self.topic_prefix + COPY_PREFIX).replace(".", r"\.")
        return f"^{literal}[A-Za-z0-9]+$"

    def librdkafka(self) -> dict[str, Any]:
        """confluent-kafka's consumer configuration: at-least-once, committed copies only."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "group.id": self.group_id,
            "client.id": f"{self.group_id}-loader",
            "auto.offset.reset": "earliest",  # a new group reads the whole history
            "enable.auto.commit": False,  # committed by hand, after DuckDB commits
            "isolation.level": "read_committed",  # the projector writes in transactions
        }
        if self.security_protocol.startswith("SASL"):
            config |= {
                "sasl.mechanism": self.sasl_mechanism,
                "sasl.username": self.username,
                "sasl.password": self.password.get_secret_value(),
            }
        if self.ca_file and self.security_protocol.endswith("SSL"):
            config["ssl.ca.location"] = self.ca_file
        return config
