"""Composition root of the notification service: one runtime, its routes and subscribers.

The sender is a background task of the process: started once the database is connected (the
runtime's start-up hook), stopped before the runtime closes its clients (the app's lifespan is
wrapped), so sends in flight finish and record their outcome.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from secop_contracts.notification import EmailFailed, EmailSent
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from notification.adapters.store import DELIVERIES
from notification.config import Settings
from notification.entrypoints import events, http
from notification.service_layer import components as wiring

DESCRIPTION = (
    "Every email a person must receive, delivered once, never lost. Operators look deliveries "
    "up and retry them under `/deliveries` (Bearer operator token)."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg]  # required values from the env
    runtime = ServiceRuntime(
        settings, publishes=[EmailSent, EmailFailed], outbox_collections=[DELIVERIES]
    )
    held: dict[str, wiring.Components] = {}

    def components() -> wiring.Components:
        if "parts" not in held:
            raise RuntimeError("the notification service has not started")
        return held["parts"]

    @runtime.on_startup
    async def start_sender(rt: ServiceRuntime) -> None:
        held["parts"] = await wiring.build(rt, settings)
        held["parts"].sender.start()

    events.register(runtime, settings, components)
    app = build(runtime, title="SECOP notification", description=DESCRIPTION, routers=[http.router])
    app.state.notification = components
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            try:
                yield
            finally:
                if "parts" in held:
                    await held["parts"].sender.stop()

    app.router.lifespan_context = lifespan
    return app
