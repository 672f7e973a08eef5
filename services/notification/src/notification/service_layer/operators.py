"""What operators may do: look deliveries up ("I never got the email") and send one again."""

from __future__ import annotations

from datetime import UTC, datetime

from secop_runtime.errors import NotFound

from notification.adapters.store import Deliveries
from notification.domain.delivery import Delivery, State, normalise_address, requeue

MISSING = "no such delivery"


async def find_deliveries(
    store: Deliveries,
    *,
    recipient: str | None,
    state: State | None,
    since: datetime | None,
    limit: int,
) -> list[Delivery]:
    return await store.search(
        recipient=normalise_address(recipient) if recipient else None,
        state=state,
        since=since,
        limit=limit,
    )


async def get_delivery(store: Deliveries, delivery_id: str) -> Delivery:
    d = await store.get(delivery_id)
    if d is None:
        raise NotFound(MISSING)
    return d


async def retry_delivery(store: Deliveries, delivery_id: str, max_attempts: int) -> Delivery:
    """Back to ``queued`` with a fresh attempt budget. Decided on the stored version, like a
    send's claim: if a sender claims it first, the retry is decided again and refused
    (``NotRetryable``, 409: it is ``sending``), so the two never both act."""
    now = datetime.now(UTC)
    return await store.change(delivery_id, lambda d: requeue(d, now, max_attempts), MISSING)
