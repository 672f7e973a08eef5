"""One sign-up is one trace: registration's request, its relay's send, notification's and
membership's handling, and the confirmation email's SMTP send (issue 22, item 2).

The three services run in-process on the real broker, database and SMTP sink; the spans go to
OpenTelemetry's in-memory exporter. The trace context crosses the outbox (stored with the
event), Kafka (``traceparent`` in the record's headers) and notification's delivery record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.conftest import StartService
from tests.integration.registration.helpers import sign_up_form
from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    """Every span this process finishes, kept in memory (the process's provider, made if none)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # later tests' spans are dropped


def _attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


async def _until(exporter: InMemorySpanExporter, found: int, match: object) -> list[ReadableSpan]:
    for _ in range(300):
        spans = [s for s in exporter.get_finished_spans() if match(s)]  # type: ignore[operator]
        if len(spans) >= found:
            return spans
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {found} matching spans, got {len(spans)}")


async def test_one_sign_up_is_one_trace_across_three_services(
    start_service: StartService, mailbox: Mailbox, uid: str, exported: InMemorySpanExporter
) -> None:
    registration = await start_service("registration")
    notification = await start_service("notification")
    membership = await start_service("membership")
    form = sign_up_form(uid)

    response = await registration.client.post("/users?source=trace-test", json=form)
    assert response.status_code == 201, response.text
    await mailbox.wait_for(form["email"])

    topic = registration.settings.topic("UserRegistered")
    server = (
        await _until(
            exported,
            1,
            lambda s: s.kind == SpanKind.SERVER and "/users" in str(_attributes(s).values()),
        )
    )[0]
    trace_id = server.context.trace_id
    mine = lambda s: s.context.trace_id == trace_id  # noqa: E731

    sends = await _until(
        exported,
        1,
        lambda s: (
            mine(s)
            and s.kind == SpanKind.PRODUCER
            and _attributes(s).get("messaging.destination.name") == topic
        ),
    )
    groups = {svc.settings.consumer_group for svc in (notification, membership)}
    processed = await _until(
        exported,
        2,
        lambda s: (
            mine(s)
            and s.kind == SpanKind.CONSUMER
            and _attributes(s).get("messaging.destination.name") == topic
            and _attributes(s).get("messaging.consumer.group.name") in groups
        ),
    )
    smtp = await _until(
        exported, 1, lambda s: mine(s) and s.name == "smtp send" and s.kind == SpanKind.CLIENT
    )

    # The chain: the request's span is an ancestor of the relay's send (the outbox carried
    # it), the send is each consumer's parent (the record's headers), and notification's
    # handling is the SMTP send's parent (the delivery record carried it).
    by_id = {s.context.span_id: s for s in exported.get_finished_spans() if mine(s)}

    def ancestors(span: ReadableSpan) -> list[int]:
        found: list[int] = []
        while span.parent is not None and span.parent.span_id in by_id:
            found.append(span.parent.span_id)
            span = by_id[span.parent.span_id]
        return found

    send = sends[0]
    assert server.context.span_id in ancestors(send)
    assert {s.parent.span_id for s in processed if s.parent} == {send.context.span_id}
    assert {_attributes(s)["messaging.consumer.group.name"] for s in processed} == groups
    notification_span = next(
        s
        for s in processed
        if _attributes(s)["messaging.consumer.group.name"] == notification.settings.consumer_group
    )
    assert notification_span.context.span_id in ancestors(smtp[0])
    assert _attributes(smtp[0])["email.template"] == "account_confirmation"

    # Nothing personal or secret in any span of the trace: no address, name, document number
    # or password, and no query string.
    for span in by_id.values():
        text = " ".join(str(v) for v in _attributes(span).values()) + span.name
        for value in (form["email"], form["full_name"], form["document_number"], form["password"]):
            assert value not in text, (span.name, value)
        assert "source=trace-test" not in text, span.name
