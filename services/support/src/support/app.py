"""Composition root of the support service: one runtime, its context, routes and subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_contracts.support import EVENTS
from secop_runtime.service import Late, ServiceRuntime
from secop_runtime.service import create_app as build

from support.adapters.cases import CASES
from support.config import Settings
from support.entrypoints import agents, events, http
from support.service_layer.context import Context

DESCRIPTION = "The service desk's cases, its work queue and the activation of entity accounts."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not settings.notification_seal_public_key:
        raise RuntimeError("NOTIFICATION_SEAL_PUBLIC_KEY is required to seal case access keys")
    runtime = ServiceRuntime(
        settings, publishes=list(EVENTS), outbox_collections=[CASES], verify_tokens=True
    )
    context: Late[Context] = Late("support")
    runtime.provide(context, lambda rt: Context.build(rt, settings))
    events.register(runtime, context)
    return build(
        runtime,
        title="SECOP support",
        description=DESCRIPTION,
        routers=[http.router, agents.router],
    )
