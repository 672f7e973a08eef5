"""Traces across HTTP, the outbox, Kafka, consumers and SMTP (OpenTelemetry, W3C trace context).

What a request causes happens later and elsewhere, so its trace context travels with it: into
the outbox entry stored with the state change (the relay publishes it later, perhaps from
another instance), into each Kafka record's headers (``traceparent``, ``tracestate``), into a
notification delivery (the sender sends it later). One sign-up is then one trace: registration's
request, its relay's publish, each consumer's handling and the email's SMTP send.

Spans are exported over OTLP/HTTP when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; ``OTEL_SDK_DISABLED=true`` turns it off. Without
an exporter nothing is recorded, but an incoming trace context is still carried on.

Spans carry no personal data and no secret: no addresses, names, tokens or query strings (the
HTTP instrumentation's URLs are cut at ``?``), only routes, topics, ids and outcomes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind

__all__ = [
    "SpanKind",
    "carrier",
    "configure",
    "from_headers",
    "instrument_app",
    "instrument_client",
    "shutdown",
    "span",
]

#: Record headers that carry the trace context (W3C Trace Context).
TRACE_HEADERS = ("traceparent", "tracestate")
#: The HTTP instrumentation's attributes that may hold a query string (old and new conventions).
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")
#: Probes and scrapes are not traced: they would drown the traces that matter.
_NOT_TRACED = "health/live,health/ready,metrics"

tracer = trace.get_tracer("secop_runtime")
Carrier = dict[str, str]


def configure(service_name: str, instance_id: str) -> bool:
    """Install the OTLP exporter when the environment asks for one; True if it did.

    Called once per process (``serve``). A provider installed before (a test's in-memory one)
    is left alone.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return False
    resource = Resource.create({"service.name": service_name, "service.instance.id": instance_id})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def shutdown() -> None:
    """Flush what is still buffered (a graceful stop must not lose the last spans)."""
    provider = trace.get_tracer_provider()
    close = getattr(provider, "shutdown", None)
    if close is not None:
        close()


def _without_query(span: Span) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, "" if name == "url.query" else value.split("?", 1)[0])


def instrument_app(app: FastAPI) -> None:
    """Server spans for every request but probes and scrapes, continuing the caller's trace."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=_NOT_TRACED,
        exclude_spans=["receive", "send"],
        server_request_hook=lambda span, _scope: _without_query(span),
    )


def instrument_client(client: Any) -> None:
    """Client spans for an ``httpx.AsyncClient``, and the trace context in its requests."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    async def cut_query(span: Span, _request: Any) -> None:  # an async client takes async hooks
        _without_query(span)

    HTTPXClientInstrumentor.instrument_client(client, request_hook=cut_query)


def carrier() -> Carrier:
    """The current trace context as text (empty when there is none), to store or send."""
    found: Carrier = {}
    propagate.inject(found)
    return found


def from_headers(headers: Sequence[tuple[str, bytes]] | None) -> Carrier:
    """The trace context in a Kafka record's headers (undecodable values are ignored)."""
    found: Carrier = {}
    for name, value in headers or ():
        if name in TRACE_HEADERS and value is not None:
            try:
                found[name] = value.decode("ascii")
            except (UnicodeDecodeError, AttributeError):
                continue
    return found


@contextmanager
def span(
    name: str,
    parent: Mapping[str, str] | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
    links: Sequence[Mapping[str, str]] = (),
) -> Iterator[Span]:
    """A span continuing the trace stored in ``parent`` (a carrier), or a new trace."""
    context = propagate.extract(dict(parent)) if parent else None
    linked = [
        Link(trace.get_current_span(propagate.extract(dict(c))).get_span_context())
        for c in links
        if c
    ]
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=dict(attributes or {}), links=linked
    ) as current:
        yield current
