"""Composition root of the registration service: one runtime, its routes and subscribers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from secop_contracts.registration import EVENTS
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build
from secop_runtime.worker import PollingWorker

from registration.adapters.guards import EmailSends, IpLimiter, LoginGuards, UsedTokens
from registration.adapters.requests import RequestQueue
from registration.adapters.sessions import SESSIONS, AccessHistory, SessionStore
from registration.adapters.users import USERS, UserStore
from registration.config import Settings
from registration.entrypoints import errors, events, http
from registration.service_layer import recovery
from registration.service_layer.context import Services

#: Sessions are kept this long after their token expired (the access history keeps the rest).
SESSION_RETENTION_DAYS = 7
DESCRIPTION = "Sign-up, email confirmation, login, credential recovery, profile and access history."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, publishes=list(EVENTS), outbox_collections=[USERS, SESSIONS])
    holder: dict[str, Services] = {}

    def services() -> Services:
        return holder["services"]

    @runtime.on_startup
    async def prepare(rt: ServiceRuntime) -> None:
        db = rt.db
        for store in (
            UserStore(db),
            SessionStore(db),
            AccessHistory(db),
            IpLimiter(db),
            EmailSends(db),
            LoginGuards(db),
            RequestQueue(db),
        ):
            await store.create_indexes()
        s = holder["services"] = app.state.registration = Services.build(rt, settings)
        s.request_worker = PollingWorker("self-service requests", lambda: recovery.work_one(s))
        s.request_worker.start()

    @runtime.on_maintenance
    async def expire(rt: ServiceRuntime) -> None:
        """Unconfirmed sign-ups past their link; failure counts nobody needs any more; what
        each collection keeps only for a while (README: retention)."""
        now = datetime.now(UTC)
        await UserStore(rt.db).expire_pending(now)
        await LoginGuards(rt.db).forget_stale(now)
        await SessionStore(rt.db).prune(now - timedelta(days=SESSION_RETENTION_DAYS))
        longest_link = max(
            settings.confirmation_ttl_s, settings.reset_ttl_s, settings.email_revert_ttl_s
        )
        await UsedTokens(rt.db).prune(now - timedelta(seconds=longest_link, days=1))
        history = timedelta(days=settings.access_history_retention_days)
        await AccessHistory(rt.db).prune(now - history)

    @runtime.on_shutdown
    async def release(rt: ServiceRuntime) -> None:
        if "services" in holder:
            s = holder["services"]
            if s.request_worker is not None:
                await s.request_worker.stop()
            s.hasher.close()  # its argon2 threads would outlive the app

    events.register(runtime, services)
    app = build(runtime, title="SECOP registration", description=DESCRIPTION, routers=http.routers)
    errors.install(app)
    return app
