"""Composition root of the notification service: one runtime, its routes and subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from notification.config import Settings
from notification.entrypoints import events, http

DESCRIPTION = "Every email a person must receive, delivered once, never lost."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])
    events.register(runtime)
    return build(
        runtime, title="SECOP notification", description=DESCRIPTION, routers=[http.router]
    )
