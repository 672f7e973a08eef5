"""Composition root of the registration service: one runtime, its context, routes and
subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_contracts.registration import EVENTS
from secop_runtime.service import Late, ServiceRuntime
from secop_runtime.service import create_app as build

from registration.adapters.sessions import HISTORY, SESSIONS
from registration.adapters.users import USERS
from registration.config import Settings
from registration.entrypoints import events, http
from registration.service_layer.context import Context

DESCRIPTION = "Sign-up, email confirmation, login, credential recovery, profile and access history."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings, publishes=list(EVENTS), outbox_collections=[USERS, SESSIONS, HISTORY]
    )
    context: Late[Context] = Late("registration")
    runtime.provide(context, lambda rt: Context.build(rt, settings))
    events.register(runtime, context)
    return build(runtime, title="SECOP registration", description=DESCRIPTION, routers=http.routers)
