"""The composition every service shares: clients opened in the lifespan, closed on shutdown.

A service builds one :class:`ServiceRuntime`, registers its subscribers and routers, and gets a
FastAPI app whose lifespan connects MongoDB, creates the topics it uses, starts the broker and
the outbox relay, and on shutdown stops consuming (in-flight handlers finish or their message is
not committed), stops the relay and closes the clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from secop_contracts import Event
from secop_contracts.asyncapi import DOCUMENTED, rendered

from secop_runtime import consumer, metrics, tracing
from secop_runtime.auth import AuthState, Revocations, TokenVerifier, load_jwks
from secop_runtime.consumer import PROCESSED, Inbox
from secop_runtime.errors import DomainError
from secop_runtime.events import new_event
from secop_runtime.http import ApiError, RequestContextMiddleware
from secop_runtime.kafka import client_options, dead_letter_topic, ensure_topics, make_broker
from secop_runtime.leases import Leases
from secop_runtime.mongo import is_transient_db_error, make_client
from secop_runtime.outbox import CLAIMS as OUTBOX_LEASES
from secop_runtime.outbox import OutboxRelay, ensure_outbox_indexes, store_standalone
from secop_runtime.outbox_hints import OutboxHints
from secop_runtime.settings import ServiceSettings, secret

#: How long a relay lease that ran out is kept (a live one lasts seconds).
LEASES_KEPT = timedelta(days=1)
log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)
C = TypeVar("C")
Hook = Callable[["ServiceRuntime"], Awaitable[None]]

STARTUP_RETRY_S = 60.0


class Late(Generic[C]):
    """The service's context: built once the database is connected, before the first event
    or request, and the same object for HTTP routes (``context_of``) and subscribers (call
    it). One per service: every composition root holds its context this way."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._value: C | None = None

    def set(self, value: C) -> None:
        self._value = value

    def __call__(self) -> C:
        if self._value is None:
            raise RuntimeError(f"the {self._service} service has not started")
        return self._value


class ServiceContext(Protocol):
    """What a service's context may offer the runtime (each method is optional)."""

    async def maintain(self, now: datetime) -> None: ...
    async def close(self) -> None: ...


def context_of(request: Request) -> Any:
    """The running service's context, for a route's dependency."""
    return request.app.state.context()


class ServiceRuntime:
    """Everything a service process holds: settings, database, broker, relay, subscriptions."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        publishes: Sequence[type[Event]],
        outbox_collections: Sequence[str],
        verify_tokens: bool = False,
    ) -> None:
        self.settings = settings
        self.broker: KafkaBroker = make_broker(settings)
        self.publishes = list(publishes)
        self.outbox_collections = list(outbox_collections)
        self.consumed: list[type[Event]] = []
        self.verify_tokens = verify_tokens
        self._setup_hooks: list[Hook] = []
        self._stop_hooks: list[Hook] = []
        self._maintenance_hooks: list[Hook] = []
        self._routes: dict[str, consumer.Route] = {}
        self._client: AsyncMongoClient | None = None
        self._db: AsyncDatabase | None = None
        self.relay: OutboxRelay | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self.context: Late[Any] | None = None

    # -- wiring ---------------------------------------------------------------------------
    @property
    def db(self) -> AsyncDatabase:
        if self._db is None:
            raise RuntimeError("the service has not started: no database yet")
        return self._db

    def on_startup(self, hook: Hook) -> Hook:
        """Run once the database is connected (create indexes, load reference data)."""
        self._setup_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run once consumers and relay have stopped, before the database closes (release
        what the service holds, e.g. worker threads)."""
        self._stop_hooks.append(hook)
        return hook

    def on_maintenance(self, hook: Hook) -> Hook:
        """Run hourly, and once at start: deleting what the database would expire by itself
        if it had TTL indexes (FerretDB has none)."""
        self._maintenance_hooks.append(hook)
        return hook

    def provide(self, context: Late[C], build: Callable[[ServiceRuntime], Awaitable[C]]) -> None:
        """Build the context at start (after the database, before consumers and routes), run
        its ``maintain`` with the other housekeeping, and its ``close`` at shutdown."""

        async def built(rt: ServiceRuntime) -> None:
            context.set(await build(rt))

        async def maintain(_: ServiceRuntime) -> None:
            step = getattr(context(), "maintain", None)
            if step is not None:
                await step(datetime.now(UTC))

        async def close(_: ServiceRuntime) -> None:
            with contextlib.suppress(RuntimeError):  # it never started
                step = getattr(context(), "close", None)
                if step is not None:
                    await step()

        self.on_startup(built)
        self.on_maintenance(maintain)
        self.on_shutdown(close)
        self.context = context

    def subscribe(
        self,
        events: Sequence[type[E]],
        handler: Callable[[E], Awaitable[None]],
        description: str,
        *,
        keyed_by_event: bool = False,
        bulk: Callable[[Sequence[E]], Awaitable[None]] | None = None,
    ) -> None:
        """Handle ``events`` (one topic each); all of a service's topics share one consumer.

        ``keyed_by_event``: the handler's only effect is an insert whose ``_id`` derives from
        the event's id, so a redelivery is already a no-op; the consumer then skips the
        processed-event bookkeeping (two database round trips per event).

        ``bulk`` (only with ``keyed_by_event``): the same effect for several events in one
        call, e.g. one ``insert_many``; it gets a partition's records of a batch, so it must
        not depend on their order. ``handler`` stays the fallback, one event at a time.
        """
        if bulk is not None and not keyed_by_event:
            raise ValueError("a bulk handler must be idempotent by event id (keyed_by_event)")
        for event_type in events:
            topic = self.settings.topic(event_type.TOPIC)
            if topic in self._routes:
                raise ValueError(f"{topic} already has a handler in {self.settings.service_name}")
            self._routes[topic] = consumer.Route(
                event_type, handler, description, keyed_by_event=keyed_by_event, bulk=bulk
            )
            self.consumed.append(event_type)

    def _lazy_db(self) -> AsyncDatabase:
        return self.db

    def event(self, cls: type[E], payload: Any) -> E:
        return new_event(cls, self.settings.service_name, payload)

    async def emit_standalone(self, *events: Event) -> None:
        """Facts that change no stored state of ours (analytics), through the same outbox."""
        await store_standalone(self.db, *events)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        hints = OutboxHints()
        self._client = make_client(secret(s.mongodb_uri), s.service_name, listeners=[hints])
        self._db = self._client[s.database_name]
        await _retrying("database", lambda: self.db.command("ping"))
        await ensure_outbox_indexes(self.db, self.outbox_collections)
        await self._ensure_expiry_indexes()
        for hook in self._setup_hooks:
            await hook(self)
        topics = {s.topic(e.TOPIC) for e in self.publishes}
        for e in self.consumed:
            topics |= {s.topic(e.TOPIC), dead_letter_topic(s.topic(e.TOPIC))}
        await _retrying(
            "kafka topics",
            lambda: ensure_topics(
                s.kafka_bootstrap_servers,
                topics,
                s.kafka_topic_partitions,
                s.kafka_replication_factor,
                **client_options(s),
            ),
        )
        consumer.subscribe_all(self.broker, s, self._lazy_db, self._routes)
        await _retrying("kafka broker", self.broker.start)
        self.relay = OutboxRelay(
            self.db,
            self.outbox_collections,
            self._publish,
            owner=s.instance_id,
            lease_s=s.outbox_lease_s,
            poll_interval_s=s.outbox_poll_interval_s,
            scan_interval_s=s.outbox_scan_interval_s,
            scan_interval_max_s=s.outbox_scan_interval_max_s,
            batch_linger_s=s.outbox_batch_linger_s,
        )
        hints.sink = self.relay.hint
        self.relay.start()
        self._maintenance = asyncio.create_task(self._maintain(), name="maintenance")
        log.info("service started", extra={"topics": sorted(topics)})

    async def stop(self) -> None:
        await self.broker.stop()
        if self._maintenance:
            self._maintenance.cancel()
        if self.relay:
            await self.relay.stop()
        for hook in self._stop_hooks:
            try:
                await hook(self)
            except Exception:
                log.warning("a shutdown hook failed", exc_info=True)
        if self._client is not None:
            await self._client.close()
        log.info("service stopped")

    async def _publish(self, item: dict[str, Any]) -> None:
        """One stored event to Kafka, in the trace of the request or event that caused it."""
        topic = self.settings.topic(item["topic"])
        with tracing.kafka_span("send", topic, item.get("trace"), message_id=item["event_id"]):
            await self.broker.publish(
                item["value"].encode(),
                topic,
                key=item["key"].encode(),
                headers={
                    "event_type": item["topic"],
                    "event_id": item["event_id"],
                    "content-type": "application/json",
                    **tracing.carrier(),
                },
                correlation_id=item.get("correlation_id") or item["event_id"],
            )

    async def _ensure_expiry_indexes(self) -> None:
        """TTL indexes for what the maintenance pass below deletes, by the same rules, where
        the database has them (MongoDB); FerretDB has none, and the pass does it all."""
        await Inbox(self.db, self.settings.consumer_group).ensure_indexes(
            self.settings.processed_events_retention_days
        )
        await Revocations(self.db).ensure_indexes()
        await Leases(self.db[OUTBOX_LEASES], self.settings.instance_id).ensure_indexes(LEASES_KEPT)

    async def _maintain(self) -> None:
        """Housekeeping the database cannot do itself (no TTL indexes on FerretDB)."""
        while True:
            await self.maintain_once()
            await asyncio.sleep(3600)

    async def maintain_once(self) -> None:
        """One maintenance pass; a failing step is logged and the others still run."""

        async def prune_inbox(rt: ServiceRuntime) -> None:
            inbox = Inbox(rt.db, rt.settings.consumer_group)
            await inbox.prune(rt.settings.processed_events_retention_days)

        async def prune_revocations(rt: ServiceRuntime) -> None:
            await Revocations(rt.db).prune(datetime.now(UTC))

        async def prune_relay_leases(rt: ServiceRuntime) -> None:
            """Leases of relays that died holding them (a live one lasts seconds)."""
            await Leases(rt.db[OUTBOX_LEASES], rt.settings.instance_id).prune(LEASES_KEPT)

        for step in (prune_inbox, prune_revocations, prune_relay_leases, *self._maintenance_hooks):
            try:
                await step(self)
            except Exception:
                log.warning("maintenance step failed", exc_info=True)

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.command("ping"), timeout=2.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            ok = await self.broker.ping(timeout=2.0)
            checks["kafka"] = "ok" if ok else "unavailable"
        except Exception as exc:
            checks["kafka"] = f"unavailable: {type(exc).__name__}"
        return checks


async def _retrying(what: str, step: Callable[[], Awaitable[Any]]) -> Any:
    """Start-up waits for infrastructure that is still coming up (compose, restarts)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_RETRY_S
    delay = 0.5
    while True:
        try:
            return await step()
        except Exception as exc:
            if loop.time() > deadline:
                raise
            log.warning("waiting for %s: %s", what, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    large_bodies: dict[tuple[str, str], int] | None = None,
    max_body_bytes: int = 256 * 1024,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if runtime.verify_tokens or runtime.settings.jwt_public_keys:
            s = runtime.settings
            app.state.auth = AuthState(
                TokenVerifier(load_jwks(s.jwt_public_keys), s.jwt_issuer, s.jwt_audience),
                Revocations(runtime.db),
            )
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.context = runtime.context
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=max_body_bytes,
        large_bodies=large_bodies or {},
    )

    _map_errors(app)
    app.include_router(_operations(runtime))
    for router in routers:
        app.include_router(router)
    tracing.instrument_app(app)
    return app


def _map_errors(app: FastAPI) -> None:
    """Every error answers in one of FastAPI's shapes, mapped here once for every service."""

    @app.exception_handler(PyMongoError)
    async def _database_unavailable(_: Request, exc: PyMongoError) -> JSONResponse:
        """Nothing was acknowledged: say so (503) rather than fail (500), and when to retry."""
        if not is_transient_db_error(exc):
            raise exc
        log.warning("database unavailable for a request", extra={"error": str(exc)[:300]})
        return JSONResponse(
            {"detail": "the database is busy or unavailable: try again shortly"},
            503,
            {"Retry-After": "1"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 shape, field by field, without echoing what was sent (``input``):
        a rejected value may be a password or a security answer."""
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, 422)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, **exc.extra}, exc.status_code, exc.headers)

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        """Every service layer's refusals, mapped to HTTP here and nowhere else."""
        return JSONResponse(exc.body(), exc.status, exc.headers)


def _operations(runtime: ServiceRuntime) -> APIRouter:
    """Liveness, readiness and metrics: the same three routes in every service (and its
    AsyncAPI document)."""
    health = APIRouter(tags=["operations"])
    s = runtime.settings
    if s.service_name in DOCUMENTED:
        health.include_router(asyncapi_routes(s.service_name, s.kafka_topic_prefix))

    @health.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @health.get(
        "/health/ready",
        summary="The database and Kafka answer",
        responses={503: {"description": "a dependency does not answer"}},
    )
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        metrics.READY.set(1 if ok else 0)
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
        )

    @health.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return health


def asyncapi_routes(service: str, prefix: str = "") -> APIRouter:
    """``GET /asyncapi`` (and ``/asyncapi.yaml`` where PyYAML is installed): the AsyncAPI
    document of the service's Kafka traffic, built once here from the contracts."""
    as_json, as_yaml = rendered(service, prefix)
    # A document about the API, like /docs and /openapi.json: not one of its operations (and a
    # fuzzer reading the OpenAPI document would take the topic names in it for input).
    router = APIRouter(include_in_schema=False)

    @router.get(
        "/asyncapi",
        summary="The AsyncAPI 3.0 document of this service's Kafka topics and messages",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}},
    )
    async def asyncapi_json() -> Response:
        return Response(as_json, media_type="application/json")

    if as_yaml is not None:

        @router.get(
            "/asyncapi.yaml",
            summary="The same AsyncAPI document in YAML",
            response_class=Response,
            responses={200: {"content": {"application/yaml": {}}}},
        )
        async def asyncapi_yaml() -> Response:
            return Response(as_yaml, media_type="application/yaml")

    return router


__all__ = [
    "PROCESSED",
    "Late",
    "ServiceContext",
    "ServiceRuntime",
    "asyncapi_routes",
    "context_of",
    "create_app",
]
