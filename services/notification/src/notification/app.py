"""Composition root of the notification service: one runtime, one context, routes, subscribers.

The context (``service_layer/context.py``) starts the sender once the database is connected and
stops it at shutdown, before the database closes, so sends in flight finish and store their
outcome.
"""

from __future__ import annotations

from fastapi import FastAPI
from secop_contracts.notification import EmailFailed, EmailSent
from secop_runtime.service import Late, ServiceRuntime
from secop_runtime.service import create_app as build

from notification.adapters.store import DELIVERIES
from notification.config import Settings
from notification.entrypoints import events, http
from notification.service_layer.context import Context

DESCRIPTION = (
    "Every email a person must receive, delivered once, never lost. Operators look deliveries "
    "up and retry them under `/deliveries` (Bearer operator token)."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg]  # required values from the env
    runtime = ServiceRuntime(
        settings, publishes=[EmailSent, EmailFailed], outbox_collections=[DELIVERIES]
    )
    context: Late[Context] = Late("notification")
    runtime.provide(context, lambda rt: Context.build(rt, settings))
    events.register(runtime, context)
    return build(
        runtime, title="SECOP notification", description=DESCRIPTION, routers=[http.router]
    )
