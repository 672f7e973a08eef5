"""Composition root of the support service: one runtime, its routes and subscribers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from secop_contracts.support import EVENTS
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from support.adapters.cases import CASES, HISTORY, CaseStore
from support.adapters.rate_limits import RateLimiter
from support.config import Settings
from support.domain.cases import CaseRuleError
from support.entrypoints import agents, events, http
from support.service_layer.desk import CaseNotFound, Desk
from support.service_layer.opening import NumberingBusy

DESCRIPTION = "The service desk's cases, its work queue and the activation of entity accounts."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not settings.notification_seal_public_key:
        raise RuntimeError("NOTIFICATION_SEAL_PUBLIC_KEY is required to seal case access keys")
    runtime = ServiceRuntime(
        settings, publishes=list(EVENTS), outbox_collections=[CASES, HISTORY], verify_tokens=True
    )
    desk = Desk(runtime, settings)

    @runtime.on_startup
    async def _indexes(rt: ServiceRuntime) -> None:
        await CaseStore(rt.db).ensure_indexes()
        await RateLimiter(rt.db).ensure_indexes()

    @runtime.on_maintenance
    async def _prune_hits(rt: ServiceRuntime) -> None:
        longest = max(settings.rate_limit_ip_window_s, settings.rate_limit_email_window_s, 60)
        await RateLimiter(rt.db).prune(desk.now() - timedelta(seconds=longest))

    events.register(runtime, desk)
    app = build(
        runtime,
        title="SECOP support",
        description=DESCRIPTION,
        routers=[http.router, agents.router],
    )
    app.state.desk = desk

    @app.exception_handler(CaseNotFound)
    async def _not_found(_: Request, __: CaseNotFound) -> JSONResponse:
        return JSONResponse({"detail": "case not found"}, 404)

    @app.exception_handler(CaseRuleError)
    async def _rule(_: Request, exc: CaseRuleError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, exc.status)

    @app.exception_handler(NumberingBusy)
    async def _busy(_: Request, exc: NumberingBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 503, headers={"Retry-After": "1"})

    return app
