"""Composition root of the support service: one runtime, its routes and subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from support.config import Settings
from support.entrypoints import events, http

DESCRIPTION = "The service desk's cases, its work queue and the activation of entity accounts."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])
    events.register(runtime)
    return build(runtime, title="SECOP support", description=DESCRIPTION, routers=[http.router])
