"""Composition root of the membership service: one runtime, one context, routes, subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from secop_contracts.membership import EVENTS
from secop_runtime.service import Late, ServiceRuntime
from secop_runtime.service import create_app as build

from membership.adapters.accounts import ACCOUNTS
from membership.adapters.cases import ACCOUNT_CASES
from membership.adapters.legacy import MEMBERSHIPS
from membership.adapters.library import LIBRARY
from membership.config import Settings
from membership.entrypoints import events, http, library
from membership.service_layer.context import Context

DESCRIPTION = (
    "Buyer-entity and supplier accounts, their documents, access requests and the directory."
)
#: Multipart framing around an uploaded file (boundaries, part headers).
MULTIPART_OVERHEAD = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        publishes=list(EVENTS),
        # Memberships had their own documents before issue 18: their last events still go out.
        outbox_collections=[ACCOUNTS, MEMBERSHIPS, LIBRARY, ACCOUNT_CASES],
        verify_tokens=True,
    )
    context: Late[Context] = Late("membership")
    runtime.provide(context, lambda rt: Context.build(rt, settings))
    events.register(runtime, context)
    return build(
        runtime,
        title="SECOP membership",
        description=DESCRIPTION,
        routers=[http.router],
        # Only the document uploads take a large body; every other route the small cap.
        large_bodies={
            route: settings.document_max_bytes + MULTIPART_OVERHEAD
            for route in (("PUT", r"/accounts/[^/]+/documents/[^/]+"), *library.UPLOAD_ROUTES)
        },
    )
