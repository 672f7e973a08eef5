"""What analytics hears of an attempt: the contracts' payloads, built from the delivery alone.

Only the template, the recipient's domain and timings leave the service; never the address,
the body or a token (the error text is marked personal in the contract: SMTP replies quote
addresses, and ``redact`` already removed them).
"""

from __future__ import annotations

from typing import Any

from secop_contracts.notification import EmailFailedPayload, EmailSentPayload

from notification.domain.delivery import Delivery


def _common(d: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": d.id,
        "template": d.template,
        "recipient_domain": d.domain,
        "source_event_id": d.source_event_id,
        "source_event_type": d.source_event_type,
        "attempts": d.attempts,
        "queued_at": d.queued_at,
    }


def sent(d: Delivery) -> EmailSentPayload:
    """``d`` as :func:`~notification.domain.delivery.succeed` left it."""
    sent_at = d.sent_at or d.updated_at or d.queued_at
    latency_ms = max(int((sent_at - d.queued_at).total_seconds() * 1000), 0)
    return EmailSentPayload(**_common(d), sent_at=sent_at, latency_ms=latency_ms)


def failed(d: Delivery) -> EmailFailedPayload:
    """``d`` as :func:`~notification.domain.delivery.fail` left it."""
    return EmailFailedPayload(
        **_common(d),
        permanent=d.permanent,
        abandoned=d.state == "abandoned",
        error=d.last_error or "",
        failed_at=d.updated_at or d.queued_at,
        next_attempt_at=d.next_attempt_at if d.state == "retrying" else None,
    )
