"""Composition root of the projector: the stream, and health and metrics over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from secop_runtime.metrics import READY
from secop_runtime.service import asyncapi_routes

from projector.config import Settings
from projector.stream import Projector

DESCRIPTION = (
    "Copies every event topic to analytics.<Event> with personal data keyed-hashed, each batch "
    "in one Kafka transaction. No HTTP API beyond health, metrics and its AsyncAPI document "
    "(the analytics contract)."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg]  # from the environment
    projector = Projector(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await projector.start()
        try:
            yield
        finally:
            await projector.stop()

    app = FastAPI(
        title="SECOP analytics projector",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.projector = projector

    @app.get("/health/live", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        ok = projector.healthy
        READY.set(1 if ok else 0)  # the readiness alerts read it, as for every service
        return JSONResponse({"status": "ok" if ok else "unavailable"}, 200 if ok else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # The analytics contract: what analysts read, built from the contracts at start-up.
    app.include_router(
        asyncapi_routes(settings.service_name, settings.kafka_topic_prefix), tags=["operations"]
    )
    return app
