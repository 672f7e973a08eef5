"""What operators may do: look deliveries up ("I never got the email") and send one again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notification.adapters.store import DeliveryStore, SendClaims
from notification.domain.delivery import Delivery, State, normalise_address, requeue


class DeliveryNotFound(LookupError):
    pass


class DeliveryBusy(RuntimeError):
    """A send of this delivery is in progress (a live claim)."""


async def find_deliveries(
    store: DeliveryStore,
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


async def retry_delivery(
    store: DeliveryStore, claims: SendClaims, delivery_id: str, max_attempts: int
) -> Delivery:
    """Back to ``queued`` with a fresh attempt budget; taken under a claim like any send, so
    it never races a sender writing the same record."""
    current = await store.get(delivery_id)
    if current is None:
        raise DeliveryNotFound(delivery_id)
    now = datetime.now(UTC)
    requeue(current, now, max_attempts)  # refuses what is not retryable before claiming
    claim = await claims.take(delivery_id, now, timedelta(seconds=30))
    if claim is None:
        raise DeliveryBusy(delivery_id)
    try:
        fresh = await store.get(delivery_id)
        if fresh is None:
            raise DeliveryNotFound(delivery_id)
        queued = requeue(fresh, now, max_attempts)
        await store.save(queued)
        return queued
    finally:
        await claims.release(claim)
