"""Send claims against the real database: one live holder, released or expired generations
passed over, and exactly one winner among concurrent takers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from notification.adapters.store import SendClaims
from pymongo import AsyncMongoClient

pytestmark = pytest.mark.integration

LEASE = timedelta(seconds=60)


@pytest.fixture
async def db(infra, uid):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    database = client[f"{uid}_claims".replace("-", "_")]
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_live_claim_excludes_others_until_released(db) -> None:
    a, b = SendClaims(db, "a"), SendClaims(db, "b")
    now = datetime.now(UTC)
    first = await a.take("d1", now, LEASE)
    assert first is not None and first.n == 0
    assert await b.take("d1", now, LEASE) is None
    assert await b.take("d2", now, LEASE) is not None  # other deliveries are independent
    await a.release(first)
    second = await b.take("d1", now, LEASE)
    assert second is not None and second.n == 1
    assert await a.take("d1", now, LEASE) is None


async def test_an_expired_claim_is_taken_over_by_exactly_one_of_many(db) -> None:
    dead = SendClaims(db, "dead")
    then = datetime.now(UTC) - timedelta(minutes=5)
    assert await dead.take("d1", then, LEASE) is not None  # its holder died; the lease ended
    takers = [SendClaims(db, f"t{i}") for i in range(8)]
    now = datetime.now(UTC)
    won = [c for c in await asyncio.gather(*(t.take("d1", now, LEASE) for t in takers)) if c]
    assert len(won) == 1 and won[0].n == 1
    assert await db["send_claims"].count_documents({"delivery_id": "d1"}) == 2
