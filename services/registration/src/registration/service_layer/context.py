"""What every use case needs, built once the database is connected (composition root wires it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from secop_contracts import Event
from secop_runtime.auth import TokenSigner, TokenVerifier, load_jwks, signing_key_id
from secop_runtime.clients import rate_limit_key
from secop_runtime.sealing import seal
from secop_runtime.service import ServiceRuntime
from secop_runtime.settings import secret
from secop_runtime.worker import PollingWorker

from registration.adapters.guards import EmailSends, IpLimiter, LoginGuards, UsedTokens
from registration.adapters.hashing import Hasher
from registration.adapters.requests import RequestQueue
from registration.adapters.sessions import AccessHistory, SessionStore
from registration.adapters.users import UserStore
from registration.config import Settings
from registration.domain import devices, throttling
from registration.domain.passwords import PasswordPolicy
from registration.service_layer.errors import Throttled

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Client:
    """Who is asking, as far as HTTP tells (for throttling and the access history)."""

    ip: str | None = None
    user_agent: str | None = None
    #: The device cookie as sent (``domain/devices.py`` decides whether it is ours).
    device: str | None = None


@dataclass
class Services:
    settings: Settings
    runtime: ServiceRuntime
    hasher: Hasher
    signer: TokenSigner
    verifier: TokenVerifier
    policy: PasswordPolicy
    #: MACs device cookies and names unknown usernames in the guards (derived, never stored).
    device_key: bytes
    jwks: dict[str, Any] = field(default_factory=dict)
    #: Works on stored self-service requests (started with the service).
    request_worker: PollingWorker | None = None

    @classmethod
    def build(cls, runtime: ServiceRuntime, settings: Settings) -> Services:
        private_pem = secret(settings.jwt_private_key)
        if not private_pem.strip() or not settings.jwt_public_keys.strip():
            raise RuntimeError("JWT_PRIVATE_KEY and JWT_PUBLIC_KEYS are required to sign tokens")
        if not settings.notification_seal_public_key:
            raise RuntimeError("NOTIFICATION_SEAL_PUBLIC_KEY is required to seal link tokens")
        jwks = load_jwks(settings.jwt_public_keys)
        kid = signing_key_id(private_pem, jwks)  # refuses to start with an unpublished key
        issuer, audience = settings.jwt_issuer, settings.jwt_audience
        return cls(
            settings=settings,
            runtime=runtime,
            hasher=Hasher(
                settings.argon2_time_cost,
                settings.argon2_memory_kib,
                settings.argon2_parallelism,
                settings.hash_workers,
                queue_limit=settings.hash_queue_limit,
                signup_limit=settings.signup_hash_limit,
            ),
            signer=TokenSigner(private_pem, kid, issuer, audience),
            verifier=TokenVerifier(jwks, issuer, audience),
            policy=PasswordPolicy.named(settings.password_policy),
            device_key=devices.derive_key(private_pem.encode()),
            jwks=public_jwks(jwks),
        )

    # -- stores (the database exists only after start) --------------------------------------
    @property
    def users(self) -> UserStore:
        return UserStore(self.runtime.db)

    @property
    def sessions(self) -> SessionStore:
        return SessionStore(self.runtime.db)

    @property
    def history(self) -> AccessHistory:
        return AccessHistory(self.runtime.db)

    @property
    def guards(self) -> LoginGuards:
        return LoginGuards(self.runtime.db)

    @property
    def sends(self) -> EmailSends:
        return EmailSends(self.runtime.db)

    @property
    def used_tokens(self) -> UsedTokens:
        return UsedTokens(self.runtime.db)

    @property
    def requests(self) -> RequestQueue:
        return RequestQueue(self.runtime.db)

    def wake_requests(self) -> None:
        if self.request_worker is not None:
            self.request_worker.wake()

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def event(self, cls: type[E], payload: dict[str, Any]) -> E:
        return self.runtime.event(cls, payload)

    def seal(self, token: str) -> str:
        return seal(self.settings.notification_seal_public_key, token)

    async def check_ip(self, scope: str, client: Client, now: datetime) -> None:
        """Per-IP limit in one-minute windows; raises :class:`Throttled` beyond it."""
        if not client.ip:
            return
        window = throttling.window_start(now, 60)
        key = rate_limit_key(client.ip) or client.ip  # IPv6: its /64
        count = await IpLimiter(self.runtime.db).hit(scope, key, window, 60)
        if count > self.settings.ip_limit_per_minute:
            raise Throttled(
                throttling.window_retry_after(now, 60), "too many requests from this address"
            )

    async def may_email(
        self, user_id: str, kind: str, now: datetime, *, min_interval_s: int | None = None
    ) -> bool:
        """Self-service email rate: one per interval, a few per hour (silently skipped beyond)."""
        s = self.settings
        interval = s.email_min_interval_s if min_interval_s is None else min_interval_s
        recent = await self.sends.recent(user_id, kind)
        if not throttling.may_send(
            recent, now, min_interval_s=interval, per_hour=s.email_max_per_hour
        ):
            return False
        return await self.sends.claim(user_id, kind, now, interval)

    async def record(self, user_id: str, kind: str, client: Client, at: datetime) -> None:
        await self.history.record(user_id, kind, at, client.ip, client.user_agent)


PUBLIC_JWK_MEMBERS = ("kty", "crv", "x", "kid", "use", "alg")


def public_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """Only public members, even if the configuration held a private JWK by mistake."""
    keys = [{k: v for k, v in key.items() if k in PUBLIC_JWK_MEMBERS} for key in jwks["keys"]]
    return json.loads(json.dumps({"keys": keys}))
