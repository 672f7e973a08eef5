"""Composition root of the membership service: one runtime, its routes and subscribers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from secop_contracts.membership import EVENTS
from secop_runtime.service import ServiceRuntime
from secop_runtime.service import create_app as build

from membership.adapters import divipola
from membership.adapters.accounts import ACCOUNTS, AccountStore
from membership.adapters.document_reads import DocumentReads
from membership.adapters.files import DocumentStore
from membership.adapters.memberships import MEMBERSHIPS, MembershipStore
from membership.adapters.turns import Busy, Turns
from membership.adapters.users import UserDirectory
from membership.config import Settings
from membership.entrypoints import events, http
from membership.service_layer import accounts
from membership.service_layer.common import Uow, now

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
        outbox_collections=[ACCOUNTS, MEMBERSHIPS],
        verify_tokens=True,
    )
    # Read at start so a wrong DIVIPOLA file stops the service instead of failing requests.
    runtime.municipalities = divipola.load(settings.divipola_file)  # type: ignore[attr-defined]

    @runtime.on_startup
    async def indexes(rt: ServiceRuntime) -> None:
        for store in (AccountStore, MembershipStore, DocumentStore, UserDirectory, DocumentReads):
            await store.ensure_indexes(rt.db)

    @runtime.on_maintenance
    async def prune_turns(rt: ServiceRuntime) -> None:
        await Turns(rt.db).prune()

    @runtime.on_maintenance
    async def expire_drafts(rt: ServiceRuntime) -> None:
        await accounts.expire_drafts(Uow.of(rt), now())

    @runtime.on_maintenance
    async def prune_document_reads(rt: ServiceRuntime) -> None:
        keep = timedelta(days=settings.document_reads_retention_days)
        await DocumentReads(rt.db).prune(now() - keep)

    events.register(runtime)
    app = build(
        runtime,
        title="SECOP membership",
        description=DESCRIPTION,
        routers=[http.router],
        # Only the document upload takes a large body; every other route the small cap.
        large_bodies={
            ("PUT", r"/accounts/[^/]+/documents/[^/]+"): settings.document_max_bytes
            + MULTIPART_OVERHEAD
        },
    )

    @app.exception_handler(Busy)
    async def _busy(_: Request, exc: Busy) -> JSONResponse:
        return JSONResponse({"detail": "someone else is changing this account: try again"}, 409)

    return app
