"""Composition root of the membership service: one runtime, its routes and subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from membership.config import Settings
from membership.entrypoints import events, http

DESCRIPTION = (
    "Buyer-entity and supplier accounts, their documents, access requests and the directory."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])
    events.register(runtime)
    return build(runtime, title="SECOP membership", description=DESCRIPTION, routers=[http.router])
