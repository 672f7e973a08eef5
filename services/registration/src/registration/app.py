"""Composition root of the registration service: one runtime, its routes and subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from registration.config import Settings
from registration.entrypoints import events, http

DESCRIPTION = "Sign-up, email confirmation, login, credential recovery, profile and access history."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, publishes=[], outbox_collections=[])
    events.register(runtime)
    return build(
        runtime, title="SECOP registration", description=DESCRIPTION, routers=[http.router]
    )
