"""Composition root of the portal: pages, static files, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from secop_runtime import tracing
from secop_runtime.auth import TokenVerifier, load_jwks
from secop_runtime.http import RequestContextMiddleware
from secop_runtime.metrics import READY

from portal.adapters.backend import ApiError, Backend
from portal.config import Settings
from portal.entrypoints import pages
from portal.entrypoints.web import (
    FormRefused,
    SignInNeeded,
    Web,
    build_templates,
    on_api_error,
    on_bad_request,
    on_form_refused,
    on_sign_in_needed,
    session_middleware,
)
from portal.service_layer.session import SessionCodec

STATIC = Path(__file__).parent / "static"
#: Every body is small but the document uploads'.
SMALL_BODY = 256 * 1024
DESCRIPTION = (
    "Server-rendered Spanish pages for every flow, over the public HTTP APIs of registration, "
    "membership and support. Owns no data."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg]  # from the environment
    backend = Backend(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await backend.close()

    app = FastAPI(
        title="SECOP II portal",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = Web(
        settings=settings,
        codec=SessionCodec(
            settings.portal_session_key.get_secret_value(), settings.portal_session_max_age_s
        ),
        backend=backend,
        templates=build_templates(),
        tokens=TokenVerifier(
            load_jwks(settings.jwt_public_keys), settings.jwt_issuer, settings.jwt_audience
        ),
    )
    app.middleware("http")(session_middleware)
    upload_cap = settings.portal_upload_max_bytes + 64 * 1024  # the form's other fields
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=SMALL_BODY,
        large_bodies={("POST", pattern): upload_cap for pattern in pages.UPLOAD_ROUTES},
    )
    app.add_exception_handler(SignInNeeded, on_sign_in_needed)
    tracing.instrument_app(app)
    app.add_exception_handler(FormRefused, on_form_refused)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_bad_request)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)

    @app.get("/health/live", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        """Ready when every service it calls answers."""
        checks = await backend.live()
        ok = all(checks.values())
        READY.set(1 if ok else 0)  # the readiness alerts read it, as for every service
        status = "ok" if ok else "unavailable"
        return JSONResponse({"status": status, "checks": checks}, 200 if ok else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics(request: Request) -> Response:
        # People reach the portal through the ingress (which adds X-Forwarded-For), Prometheus
        # scrapes the pod itself: what went through a proxy is the public, and the process's
        # internals (routes' rates, error counts) are not theirs to read.
        if "x-forwarded-for" in request.headers:
            return Response(status_code=404)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
