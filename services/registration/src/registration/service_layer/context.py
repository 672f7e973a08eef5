"""What every use case needs, built once the database is connected (the composition root,
``app.py``, provides it through the runtime; unit tests assemble it from fakes)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from secop_contracts import Event
from secop_contracts.envelope import Payload
from secop_runtime.auth import TokenSigner, TokenVerifier, load_jwks, signing_key_id
from secop_runtime.clients import rate_limit_key
from secop_runtime.errors import Throttled
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
from registration.domain.tokens import Link, issue
from registration.service_layer.envelopes import envelop

#: Sessions are kept this long after their token expired (the access history keeps the rest).
SESSION_RETENTION_DAYS = 7


def spent_links_kept(settings: Settings) -> timedelta:
    """A spent link is remembered while any link could still be valid, plus a day."""
    longest = max(settings.confirmation_ttl_s, settings.reset_ttl_s, settings.email_revert_ttl_s)
    return timedelta(seconds=longest, days=1)


@dataclass(frozen=True)
class Client:
    """Who is asking, as far as HTTP tells (for throttling and the access history)."""

    ip: str | None = None
    user_agent: str | None = None
    #: The device cookie as sent (``domain/devices.py`` decides whether it is ours).
    device: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    users: UserStore
    sessions: SessionStore
    history: AccessHistory
    guards: LoginGuards
    sends: EmailSends
    used_tokens: UsedTokens
    requests: RequestQueue
    ip_hits: IpLimiter
    hasher: Hasher
    #: Facts that change no state of ours (analytics), through the standalone outbox.
    publish_facts: Callable[..., Awaitable[None]]
    signer: TokenSigner
    verifier: TokenVerifier
    policy: PasswordPolicy
    #: MACs device cookies and names unknown usernames in the guards (derived, never stored).
    device_key: bytes
    jwks: dict[str, Any]
    clock: Callable[[], datetime] = _now
    #: Works on stored self-service requests (started with the service).
    request_worker: PollingWorker | None = field(default=None, repr=False)

    @classmethod
    async def build(cls, runtime: ServiceRuntime, settings: Settings) -> Context:
        """The service's context on the database, with its indexes and request worker."""
        db = runtime.db
        adapters: dict[str, Any] = {
            "users": UserStore(db),
            "sessions": SessionStore(db),
            "history": AccessHistory(db),
            "guards": LoginGuards(db),
            "sends": EmailSends(db),
            "used_tokens": UsedTokens(db, spent_links_kept(settings)),
            "requests": RequestQueue(db),
            "ip_hits": IpLimiter(db),
        }
        for adapter in adapters.values():
            await adapter.create_indexes()
        context = cls.assemble(
            settings, Hasher.from_settings(settings), runtime.emit_standalone, **adapters
        )
        context.start_request_worker()
        return context

    @classmethod
    def assemble(
        cls,
        settings: Settings,
        hasher: Hasher,
        publish_facts: Callable[..., Awaitable[None]],
        **adapters: Any,
    ) -> Context:
        """The context from its adapters; refuses to start without the keys it signs and
        seals with, or with a signing key no published key matches."""
        private_pem = secret(settings.jwt_private_key)
        if not private_pem.strip() or not settings.jwt_public_keys.strip():
            raise RuntimeError("JWT_PRIVATE_KEY and JWT_PUBLIC_KEYS are required to sign tokens")
        if not settings.notification_seal_public_key:
            raise RuntimeError("NOTIFICATION_SEAL_PUBLIC_KEY is required to seal link tokens")
        jwks = load_jwks(settings.jwt_public_keys)
        kid = signing_key_id(private_pem, jwks)
        issuer, audience = settings.jwt_issuer, settings.jwt_audience
        return cls(
            settings=settings,
            hasher=hasher,
            publish_facts=publish_facts,
            signer=TokenSigner(private_pem, kid, issuer, audience),
            verifier=TokenVerifier(jwks, issuer, audience),
            policy=PasswordPolicy.named(settings.password_policy),
            device_key=devices.derive_key(private_pem.encode()),
            jwks=public_jwks(jwks),
            **adapters,
        )

    # -- lifecycle (the runtime calls these) --------------------------------------------------
    def start_request_worker(self) -> None:
        # Imported here: the use cases import this module.
        from registration.service_layer.recovery import work_one

        self.request_worker = PollingWorker("self-service requests", lambda: work_one(self))
        self.request_worker.start()

    async def maintain(self, now: datetime) -> None:
        """Unconfirmed sign-ups past their link; failure counts nobody needs any more; what
        each collection keeps only for a while (README: retention)."""
        s = self.settings
        await self.users.expire_pending(now)
        await self.guards.forget_stale(now)
        await self.sessions.prune(now - timedelta(days=SESSION_RETENTION_DAYS))
        await self.used_tokens.prune(now - spent_links_kept(s))
        await self.history.prune(now - timedelta(days=s.access_history_retention_days))
        # The longest a send is remembered: a day of ID document changes.
        await self.sends.prune(now - timedelta(days=1))

    async def close(self) -> None:
        if self.request_worker is not None:
            await self.request_worker.stop()
        self.hasher.close()  # its argon2 threads would outlive the app

    def wake_requests(self) -> None:
        if self.request_worker is not None:
            self.request_worker.wake()

    # -- helpers --------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def events(self, payloads: Iterable[Payload]) -> list[Event]:
        return envelop(self.settings.service_name, payloads)

    def link(self, now: datetime, ttl_s: int, owner: str) -> Link:
        """A new link token for user ``owner``: its hash to store, and the token sealed for
        notification."""
        token = issue(now, ttl_s, owner)
        sealed = seal(self.settings.notification_seal_public_key, token.plain)
        return Link(token.hash, token.expires_at, sealed)

    async def check_ip(self, scope: str, client: Client, now: datetime) -> None:
        """Per-IP limit in one-minute windows; raises ``Throttled`` beyond it."""
        if not client.ip:
            return
        window = throttling.window_start(now, 60)
        key = rate_limit_key(client.ip) or client.ip  # IPv6: its /64
        count = await self.ip_hits.hit(scope, key, window, 60)
        if count > self.settings.ip_limit_per_minute:
            retry = throttling.window_retry_after(now, 60)
            raise Throttled("too many requests from this address", retry)

    async def may_email(
        self, user_id: str, kind: str, now: datetime, *, min_interval_s: int | None = None
    ) -> bool:
        """Self-service email rate: one per interval, a few per hour (silently skipped beyond)."""
        s = self.settings
        interval = s.email_min_interval_s if min_interval_s is None else min_interval_s
        seen = await self.sends.recent(user_id, kind)
        if not throttling.may_send(
            seen.times, now, min_interval_s=interval, per_hour=s.email_max_per_hour
        ):
            return False
        return await self.sends.claim(user_id, kind, now, seen, keep_s=3600)

    async def record(self, user_id: str, kind: str, client: Client, at: datetime) -> None:
        await self.history.record(user_id, kind, at, client.ip, client.user_agent)


PUBLIC_JWK_MEMBERS = ("kty", "crv", "x", "kid", "use", "alg")


def public_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """Only public members, even if the configuration held a private JWK by mistake."""
    keys = [{k: v for k, v in key.items() if k in PUBLIC_JWK_MEMBERS} for key in jwks["keys"]]
    return json.loads(json.dumps({"keys": keys}))
