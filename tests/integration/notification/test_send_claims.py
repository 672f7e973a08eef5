"""Send claims against the real database. A claim is the delivery's move to ``sending``: one
write conditional on the version the sender read. Of many senders racing for one delivery
exactly one claims it (and exactly one email goes out); a live claim excludes others until its
outcome is stored; an expired one is taken over by exactly one of many."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from notification.adapters.fakes import FakeSmtpPool
from notification.adapters.store import DeliveryStore
from notification.config import Settings
from notification.domain.delivery import Delivery, fail
from notification.service_layer.context import renderer_for
from notification.service_layer.intake import deliveries_for
from notification.service_layer.sending import Outbound, attempt, claim
from pymongo import AsyncMongoClient
from secop_runtime.events import new_event
from secop_runtime.sealing import generate_keypair

from tests.unit.notification import samples

pytestmark = pytest.mark.integration

LEASE = timedelta(seconds=60)
PRIVATE, PUBLIC = generate_keypair()
TAKERS = 8


@pytest.fixture
async def store(infra, uid):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    database = client[f"{uid}_claims".replace("-", "_")]
    yield DeliveryStore(database)
    await client.drop_database(database.name)
    await client.close()


async def queued(store: DeliveryStore, address: str, at: datetime) -> Delivery:
    (d,) = deliveries_for(samples.password_reset(PUBLIC, address), at, 5)
    stored = await store.add(d)
    assert stored is not None
    return stored


async def views(store: DeliveryStore, delivery_id: str) -> list[Delivery]:
    """What each of several instances read before racing."""
    return [d for d in [await store.get(delivery_id) for _ in range(TAKERS)] if d]


async def test_of_many_senders_racing_for_one_delivery_exactly_one_sends(store) -> None:
    d = await queued(store, "race@example.co", datetime.now(UTC))
    settings = Settings(seal_private_key=PRIVATE, operator_token="x-" + "0123456789abcdef" * 2)
    pool = FakeSmtpPool()
    out = Outbound(
        store, pool, renderer_for(settings), settings, lambda c, p: new_event(c, "notification", p)
    )
    conn = await pool.acquire()
    results = await asyncio.gather(*(attempt(out, v, conn) for v in await views(store, d.id)))
    assert results.count(True) == 1
    assert len(pool.to("race@example.co")) == 1
    stored = await store.get(d.id)
    assert stored is not None and (stored.state, stored.attempts) == ("sent", 1)


async def test_a_live_claim_excludes_others_until_its_outcome_is_stored(store) -> None:
    now = datetime.now(UTC)
    d1, d2 = await queued(store, "a@example.co", now), await queued(store, "b@example.co", now)
    first = await claim(store, d1, now, LEASE)
    assert first is not None and first.state == "sending"
    assert await claim(store, d1, now, LEASE) is None  # a view from before the claim
    assert await claim(store, first, now, LEASE) is None  # the current one: held, not due
    assert await claim(store, d2, now, LEASE) is not None  # other deliveries are independent
    failed = fail(first, now, "451 later", permanent=False, backoff_base_s=1, backoff_max_s=1)
    await store.save(failed, was=first)  # the outcome is stored: the claim ends
    later = now + timedelta(seconds=1)
    second = await claim(store, await store.get(d1.id), later, LEASE)
    assert second is not None and second.attempts == 2
    assert await claim(store, failed, later, LEASE) is None


async def test_an_expired_claim_is_taken_over_by_exactly_one_of_many(store) -> None:
    then = datetime.now(UTC) - timedelta(minutes=5)
    d = await queued(store, "dead@example.co", then)
    assert await claim(store, d, then, LEASE) is not None  # its holder died; the lease ended
    now = datetime.now(UTC)
    won = [
        c
        for c in await asyncio.gather(
            *(claim(store, v, now, LEASE) for v in await views(store, d.id))
        )
        if c
    ]
    assert len(won) == 1 and won[0].attempts == 2
    stored = await store.get(d.id)
    assert stored is not None and stored.next_attempt_at > now
