"""What the trace context and the exported spans may carry (issue 22's tracing, as an attacker
sees it): a client's request headers reach the outbox, Kafka and the analytics copies only as a
W3C ``traceparent``, and an exported span names no person (no error text, no address or
browser). ``tests/integration/test_tracing.py`` follows one sign-up's trace on the real
infrastructure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.errors import BulkWriteError, DuplicateKeyError
from secop_contracts.registration import UserRegistered
from secop_runtime import outbox, tracing
from secop_runtime.consumer import BatchConsumer, Route
from secop_runtime.settings import ServiceSettings

from tests.support.events import user_registered

pytestmark = pytest.mark.unit

EMAIL = "ana.perez@example.com"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
#: What a client may send beside it: free text, up to 8 KB each, that is not ours to forward.
FOREIGN = {
    "tracestate": "vendor=" + "x" * 200 + ",user=" + EMAIL.replace("@", "%40"),
    "baggage": f"user.email={EMAIL.replace('@', '%40')},session=abc123",
}


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """Spans as the OTLP exporter would get them (through ``tracing.Scrubbed``)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(tracing.Scrubbed(memory)))
    yield memory
    memory.shutdown()  # later spans are dropped


def _text(span: ReadableSpan) -> str:
    """Everything a span would export as text."""
    parts = [span.name, str(span.status.description)]
    parts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
    for event in span.events:
        parts += [f"{k}={v}" for k, v in (event.attributes or {}).items()]
    return "\n".join(parts)


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/users")
    async def sign_up() -> dict[str, Any]:
        # What the outbox stores with the event a request causes.
        return outbox.stored(user_registered())

    @app.post("/clash")
    async def clash() -> None:
        said = f'E11000 duplicate key error collection: users dup key: {{ email: "{EMAIL}" }}'
        raise DuplicateKeyError(said)

    tracing.instrument_app(app)
    return app


def test_a_clients_tracestate_and_baggage_are_not_stored_with_the_event() -> None:
    client = TestClient(_app())
    stored = client.post("/users", headers={"traceparent": TRACEPARENT, **FOREIGN}).json()

    assert set(stored["trace"]) == {"traceparent"}
    assert TRACE_ID in stored["trace"]["traceparent"]  # the trace itself is continued


def test_a_stored_trace_goes_to_kafka_as_traceparent_alone() -> None:
    # An outbox entry written before (or by hand) with more than traceparent in it.
    with tracing.span("send", {"traceparent": TRACEPARENT, **FOREIGN}):
        headers = tracing.carrier()

    assert set(headers) == {"traceparent"}
    assert TRACE_ID in headers["traceparent"]


def test_an_unhandled_errors_text_and_the_client_are_not_exported(
    exported: InMemorySpanExporter,
) -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    agent = "Mozilla/5.0 (Ana Perez's laptop)"
    response = client.post("/clash", headers={"traceparent": TRACEPARENT, "user-agent": agent})
    assert response.status_code == 500

    (server,) = [s for s in exported.get_finished_spans() if s.name == "POST /clash"]
    text = _text(server)
    assert EMAIL not in text
    assert agent not in text and "testclient" not in text  # the browser and the peer address
    (error,) = [e for e in server.events if e.name == "exception"]
    assert error.attributes is not None
    assert error.attributes["exception.type"] == "pymongo.errors.DuplicateKeyError"
    assert "in clash" in str(error.attributes["exception.stacktrace"])  # where, not what


async def test_a_failed_bulk_calls_span_exports_no_document(
    exported: InMemorySpanExporter,
) -> None:
    async def bulk(events: Any) -> None:
        # pymongo's text repeats every refused document: names, emails, document numbers.
        error = {"index": 0, "code": 2, "errmsg": "bad", "op": {"email": EMAIL}}
        raise BulkWriteError({"writeErrors": [error], "nInserted": 0})

    async def one(event: Any) -> None:
        return None

    route = Route(UserRegistered, one, "users", keyed_by_event=True, bulk=bulk)
    consumer = BatchConsumer(
        None,  # type: ignore[arg-type]  # nothing is published or read here
        ServiceSettings(service_name="probe"),
        lambda: None,  # type: ignore[arg-type,return-value]
        {UserRegistered.TOPIC: route},
    )
    records = [
        ConsumerRecord(
            UserRegistered.TOPIC,
            0,
            offset,
            0,
            0,
            b"k",
            user_registered().to_json(),
            None,
            1,
            1,
            (("traceparent", TRACEPARENT.encode()),),
        )
        for offset in range(2)
    ]

    assert not await consumer.apply_together(route, bulk, records)  # one by one, as before

    (span,) = [s for s in exported.get_finished_spans() if s.name.startswith("process ")]
    assert EMAIL not in _text(span)
    assert span.status.description == "pymongo.errors.BulkWriteError"
