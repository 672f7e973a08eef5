"""Traces across HTTP, the outbox, Kafka, consumers and SMTP (OpenTelemetry, W3C trace context).

What a request causes happens later and elsewhere, so its trace context travels with it: into
the outbox entry stored with the state change (the relay publishes it later, perhaps from
another instance), into each Kafka record's headers (``traceparent``), into a
notification delivery (the sender sends it later). One sign-up is then one trace: registration's
request, its relay's publish, each consumer's handling and the email's SMTP send.

Spans are exported over OTLP/HTTP when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; ``OTEL_SDK_DISABLED=true`` turns it off. Without
an exporter nothing is recorded, but an incoming trace context is still carried on.

Spans carry no personal data and no secret: no addresses, names, tokens or query strings (the
HTTP instrumentation's URLs are cut at ``?``), only routes, topics, ids and outcomes. What is
exported passes ``Scrubbed`` too: an error is told by its type and frames, never its text (a
pymongo or pydantic error repeats the documents and values it refused), and the client's
address and browser are left out.

Only ``traceparent`` is carried on (stored, put in record headers, copied to the analytics
topics): ``tracestate`` and ``baggage`` are free text a client may send with any request, up to
8 KB each, and what it puts there is not ours to spread (it could be anyone's personal data).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Span, SpanKind, Status
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "Scrubbed",
    "SpanKind",
    "carrier",
    "configure",
    "from_headers",
    "instrument_app",
    "instrument_client",
    "kafka_span",
    "shutdown",
    "span",
]

#: Record headers read for the trace context (W3C Trace Context; only traceparent is written).
TRACE_HEADERS = ("traceparent", "tracestate")
#: The HTTP instrumentation's attributes that may hold a query string (old and new conventions).
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")
#: Probes and scrapes are not traced: they would drown the traces that matter.
_NOT_TRACED = "health/live,health/ready,metrics"
#: W3C Trace Context whatever ``OTEL_PROPAGATORS`` says (its default adds ``baggage``): Kafka's
#: readers expect ``traceparent``.
_W3C = TraceContextTextMapPropagator()
#: The HTTP instrumentation's attributes naming the client: its address and its browser.
_CLIENT_ATTRIBUTES = frozenset(
    {
        "net.peer.ip",
        "net.peer.port",
        "http.client_ip",
        "client.address",
        "client.port",
        "network.peer.address",
        "network.peer.port",
        "http.user_agent",
        "user_agent.original",
    }
)
#: A traceback's frame line (where), as opposed to the lines of the error's text (what).
_FRAME = re.compile(r'  File "[^"\n]*", line \d+, in [\w<>.]+')

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
    provider.add_span_processor(BatchSpanProcessor(Scrubbed(OTLPSpanExporter())))
    trace.set_tracer_provider(provider)
    return True


def shutdown() -> None:
    """Flush what is still buffered (a graceful stop must not lose the last spans)."""
    provider = trace.get_tracer_provider()
    close = getattr(provider, "shutdown", None)
    if close is not None:
        close()


class Scrubbed(SpanExporter):
    """Exports through ``inner`` what a span may carry: no client address or browser, and an
    error as its type and frames only (``exception.message`` dropped, the stack trace cut to
    its ``File ..., line ..., in ...`` lines, the status named by the type)."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([_scrubbed(s) for s in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _scrubbed(span: ReadableSpan) -> ReadableSpan:
    events = [_error_kind(e) if e.name == "exception" else e for e in span.events]
    kinds = [str(e.attributes["exception.type"]) for e in events if _names_error(e)]
    status = span.status
    if status.description:  # "<type>: <text>", set where an error left the span
        status = Status(status.status_code, kinds[-1] if kinds else None)
    attributes = span.attributes or {}
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in attributes.items() if k not in _CLIENT_ATTRIBUTES},
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _names_error(event: Event) -> bool:
    return event.name == "exception" and "exception.type" in (event.attributes or {})


def _error_kind(event: Event) -> Event:
    found = event.attributes or {}
    kept = {k: found[k] for k in ("exception.type", "exception.escaped") if k in found}
    stack = found.get("exception.stacktrace")
    if isinstance(stack, str):
        kept["exception.stacktrace"] = "\n".join(
            line for line in stack.splitlines() if _FRAME.fullmatch(line)
        )
    return Event(event.name, kept, event.timestamp)


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
    """The current trace context as text (empty when there is none), to store or send: its
    ``traceparent`` alone (see the module's docstring)."""
    found: Carrier = {}
    _W3C.inject(found)
    return {k: v for k, v in found.items() if k == "traceparent"}


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
    context = _W3C.extract(dict(parent)) if parent else None
    linked = [
        Link(trace.get_current_span(_W3C.extract(dict(c))).get_span_context()) for c in links if c
    ]
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=dict(attributes or {}), links=linked
    ) as current:
        yield current


def kafka_span(
    operation: str,
    topic: str,
    parent: Mapping[str, str] | None,
    *,
    group: str | None = None,
    message_id: str | None = None,
    links: Sequence[Mapping[str, str]] = (),
    count: int = 1,
) -> AbstractContextManager[Span]:
    """A span of Kafka work (``send`` or ``process``), named and described as OpenTelemetry's
    messaging conventions ask: the relay's send, each consumer's (and the projector's) process."""
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.destination.name": topic,
    }
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    if message_id is not None:
        attributes["messaging.message.id"] = message_id
    if count > 1:
        attributes["messaging.batch.message_count"] = count
    kind = SpanKind.PRODUCER if operation == "send" else SpanKind.CONSUMER
    return span(f"{operation} {topic}", parent, kind, attributes, links)
