"""The throttling documents on the real database: the login guards (one per subject, read and
written in one command per step) and the email sends (one per user and kind), each read and
written by ``_id``, and the maintenance passes that keep them small."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from registration.adapters.guards import EmailSends, LoginBusy, LoginGuards, Sent
from registration.domain import throttling
from secop_devinfra.infra import Endpoints

pytestmark = pytest.mark.integration
OWNER, STRANGER = "device:Ab-c_9", "address:203.0.113.9"


@pytest.fixture
async def guards(infra: Endpoints, uid: str) -> AsyncIterator[LoginGuards]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    db: AsyncDatabase = client[f"{uid}_guards"]
    try:
        yield LoginGuards(db)
    finally:
        await client.drop_database(f"{uid}_guards")
        await client.close()


async def test_each_client_has_its_own_lease_and_count_in_the_subjects_document(
    guards: LoginGuards,
) -> None:
    now = datetime.now(UTC)
    assert await guards.begin("u1", STRANGER, now, 30) == throttling.Failures()
    with pytest.raises(LoginBusy):  # the same client, while its check runs
        await guards.begin("u1", STRANGER, now, 30)
    owner = await guards.begin("u1", OWNER, now, 30)  # the owner is not held up
    assert owner == throttling.Failures()
    assert await guards.failed("u1", STRANGER, now) == (1, 1)
    assert await guards.failed("u1", STRANGER, now) == (2, 2)  # no lease needed to count
    seen = await guards.begin("u1", STRANGER, now, 30)
    assert (seen.client, seen.client_last_at, seen.user) == (2, seen.client_last_at, 2)
    await guards.release("u1", STRANGER, had_failures=True)
    await guards.succeeded("u1", OWNER, run_across_clients=True)
    doc = await guards._col.find_one({"_id": "u1"})
    assert doc is not None and doc["failures"] == 0 and "last_failure_at" not in doc
    # The owner's entry is gone; the stranger's failures still count, its lease ended.
    assert list(doc["clients"]) == ["address:203_0_113_9"]
    assert doc["clients"]["address:203_0_113_9"] == {
        "failures": 2,
        "last_failure_at": doc["clients"]["address:203_0_113_9"]["last_failure_at"],
    }
    # A lease taken with nothing counted leaves no entry behind when released.
    await guards.begin("u1", "address:198.51.100.7", now, 30)
    await guards.release("u1", "address:198.51.100.7", had_failures=False)
    doc = await guards._col.find_one({"_id": "u1"})
    assert doc is not None and list(doc["clients"]) == ["address:203_0_113_9"]
    # A crashed check's lease runs out.
    later = now + timedelta(seconds=31)
    await guards.begin("u1", OWNER, now, 30)
    assert (await guards.begin("u1", OWNER, later, 30)).client == 0


async def test_the_maintenance_pass_forgets_what_no_longer_counts_and_keeps_locks(
    guards: LoginGuards,
) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=40)
    col = guards._col
    await col.insert_many(
        [
            # Untouched for 40 days: its client entry and its short run go, the document too.
            {
                "_id": "quiet",
                "failures": 3,
                "last_failure_at": long_ago,
                "touched_at": long_ago,
                "clients": {"address:1_2_3_4": {"failures": 3, "last_failure_at": long_ago}},
            },
            # Locked: the lock stays until a password reset, only the entries go.
            {
                "_id": "locked",
                "failures": 100,
                "last_failure_at": long_ago,
                "touched_at": long_ago,
                "clients": {"address:1_2_3_4": {"failures": 5, "last_failure_at": long_ago}},
            },
            # Failing today: nothing goes.
            {
                "_id": "busy",
                "failures": 2,
                "last_failure_at": now,
                "touched_at": now,
                "clients": {"address:1_2_3_4": {"failures": 2, "last_failure_at": now}},
            },
            # Only successes, two days ago: nothing left to count.
            {"_id": "fine", "failures": 0, "touched_at": now - timedelta(days=2), "clients": {}},
            # The earlier layout: a (subject, client) document and a subject's run.
            {"_id": "old|address:1.2.3.4", "subject": "old", "failures": 4, "lease_until": None},
            {"_id": "old", "failures": 7, "last_failure_at": now - timedelta(days=3)},
        ]
    )
    await guards.forget_stale(now)
    left = {d["_id"]: d async for d in col.find({})}
    assert set(left) == {"locked", "busy", "old"}
    assert "clients" not in left["locked"] and left["locked"]["failures"] == 100
    assert left["busy"]["clients"]["address:1_2_3_4"]["failures"] == 2
    assert left["old"]["failures"] == 7  # a run from before the upgrade still counts
    assert (await guards.begin("old", STRANGER, now, 30)).user == 7


async def test_an_email_send_is_claimed_once_against_what_was_read(
    infra: Endpoints, uid: str
) -> None:
    """Two requests that read the same sends: one claims, the other is told no; a send older
    than what is kept falls out of the record; the maintenance pass forgets quiet users."""
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        sends = EmailSends(client[f"{uid}_sends"])
        now = datetime.now(UTC).replace(microsecond=0)
        seen = await sends.recent("u1", "reset")
        assert seen == Sent()
        first, second = await asyncio.gather(
            sends.claim("u1", "reset", now, seen, keep_s=3600),
            sends.claim("u1", "reset", now, seen, keep_s=3600),
        )
        assert sorted([first, second]) == [False, True]
        later = now + timedelta(hours=2)
        seen = await sends.recent("u1", "reset")
        assert seen.times == [now] and seen.last == now
        assert await sends.claim("u1", "reset", later, seen, keep_s=3600)
        assert (await sends.recent("u1", "reset")).times == [later]  # the old one fell out
        assert not await sends.claim("u1", "reset", later, seen, keep_s=3600)  # stale read
        assert await sends.recent("u1", "username") == Sent()  # kinds apart
        assert await sends.prune(later + timedelta(seconds=1)) == 1
        assert await sends.recent("u1", "reset") == Sent()
    finally:
        await client.drop_database(f"{uid}_sends")
        await client.close()
