"""The registration service's settings: the only reader of the environment."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr
from secop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "registration"
    http_port: int = 8001
    public_base_url: str = "http://127.0.0.1:8001"

    jwt_private_key: SecretStr = Field(
        default=SecretStr(""), description="PEM of the Ed25519 key that signs access tokens."
    )
    notification_seal_public_key: str = Field(
        default="", description="Notification's sealing public key (base64): tokens in events."
    )
    access_token_ttl_s: int = Field(
        default=900,
        ge=60,
        le=3600,
        description="Access tokens live at most an hour: roles and revocations reach every "
        "service within a token's life.",
    )

    password_policy: Literal["secop", "nist"] = "secop"  # noqa: S105 (a policy name)
    # argon2id: OWASP's minimum by default (19 MiB, t=2, p=1).
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    hash_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    hash_queue_limit: int = Field(
        default=64,
        ge=1,
        description="argon2 jobs running or waiting, beyond which logins, sign-ups and "
        "password changes answer 503 with Retry-After instead of queueing.",
    )
    signup_hash_limit: int = Field(
        default=8,
        ge=1,
        description="Sign-ups hashing at once (two argon2 jobs each); more answer 503, so a "
        "flood of sign-ups cannot starve logins.",
    )

    confirmation_ttl_s: int = Field(default=24 * 3600, ge=1)
    reset_ttl_s: int = Field(default=3600, ge=1)
    email_revert_ttl_s: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="How long the link sent to the old address after an email change can "
        "put it back (and end every session).",
    )

    ip_limit_per_minute: int = Field(
        default=30,
        ge=1,
        description="Logins, recovery requests and confirmation resends, each per client IP "
        "(an IPv6 client's /64) per minute.",
    )
    device_cookie_ttl_s: int = Field(
        default=180 * 24 * 3600,
        ge=60,
        description="How long a browser that signed in stays a recognised device, whose "
        "failed logins count apart from strangers' and which a lock does not refuse.",
    )
    email_min_interval_s: int = Field(default=60, ge=0)
    email_max_per_hour: int = Field(default=5, ge=1)
    access_history_retention_days: int = Field(
        default=365,
        ge=1,
        description="Logins, logouts and failures older than this leave the access history "
        "(data minimisation, Ley 1581 of 2012).",
    )
