"""What the stores rely on, proved on the database server the suite runs against.

The aggregate store, the leases and the outbox relay assume only two guarantees of a
MongoDB-wire server: a single-document write (update, upsert, findAndModify) is atomic, and a
unique index refuses a second holder. MongoDB gives both; FerretDB 1.24 gives them only as we
build it (``devinfra/.../ferretdb/patches.json``). These tests run wherever the suite runs (the
local FerretDB; in the containers phase, the container's server; MongoDB where a Docker engine
answers), so a server or upgrade that breaks a guarantee fails here, loudly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure
from secop_devinfra.infra import Endpoints
from secop_runtime import mongo, outbox
from secop_runtime.aggregates import AggregateStore, Stale
from secop_runtime.leases import Leases
from secop_runtime.mongo import is_duplicate
from secop_runtime.outbox import OUTBOX, PENDING, PENDING_MARK, OutboxRelay

from tests.support.store_contract import Counter, MakeStore, StoreContract, an_event
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
WRITERS = int(os.environ.get("SECOP_STORE_WRITERS", "16"))


@pytest.fixture
async def db(infra: Endpoints, uid: str) -> AsyncIterator[AsyncDatabase]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        yield client[f"{uid}_stores"]
    finally:
        await client.drop_database(f"{uid}_stores")
        await client.close()


class TestDatabaseStore(StoreContract):
    @pytest.fixture
    def make_store(self, db: AsyncDatabase) -> MakeStore:
        made = 0

        async def make(model: Any, unique: tuple[str, ...] = ()) -> AggregateStore[Any]:
            nonlocal made
            made += 1
            store = AggregateStore(db[f"things{made}"], model, unique=unique)
            await store.create_indexes()
            return store

        return make


async def test_concurrent_increments_of_one_document_all_count(db: AsyncDatabase) -> None:
    col = db["counters"]
    await col.insert_one({"_id": "c", "n": 0})
    await asyncio.gather(
        *(col.update_one({"_id": "c"}, {"$inc": {"n": 1}}) for _ in range(WRITERS * 4))
    )
    assert (await col.find_one({"_id": "c"}))["n"] == WRITERS * 4  # type: ignore[index]


async def test_a_conditional_update_has_exactly_one_winner(db: AsyncDatabase) -> None:
    col = db["versions"]
    await col.insert_one({"_id": "a", "_v": 1})
    results = await asyncio.gather(
        *(
            col.update_one({"_id": "a", "_v": 1}, {"$inc": {"_v": 1}, "$set": {"by": n}})
            for n in range(WRITERS)
        )
    )
    assert sum(r.matched_count for r in results) == 1
    assert (await col.find_one({"_id": "a"}))["_v"] == 2  # type: ignore[index]


async def test_a_claiming_find_and_modify_succeeds_once(db: AsyncDatabase) -> None:
    col = db["jobs"]
    await col.insert_one({"_id": "job", "taken_by": None})
    results = await asyncio.gather(
        *(
            col.find_one_and_update({"_id": "job", "taken_by": None}, {"$set": {"taken_by": n}})
            for n in range(WRITERS)
        )
    )
    assert sum(r is not None for r in results) == 1


async def test_a_unique_index_refuses_a_second_holder_on_insert_update_and_upsert(
    db: AsyncDatabase,
) -> None:
    col = db["unique"]
    await col.create_index("email", unique=True, name="uniq_email")
    await col.insert_one({"_id": "a", "email": "x@example.co"})
    await col.insert_one({"_id": "b", "email": "y@example.co"})
    attempts = (
        lambda: col.insert_one({"_id": "c", "email": "x@example.co"}),
        lambda: col.update_one({"_id": "b"}, {"$set": {"email": "x@example.co"}}),
        lambda: col.update_one({"_id": "a", "never": True}, {"$set": {"z": 1}}, upsert=True),
    )
    for attempt in attempts:
        with pytest.raises(OperationFailure) as refused:
            await attempt()
        assert is_duplicate(refused.value)


async def test_a_lease_has_one_holder_until_it_runs_out(db: AsyncDatabase) -> None:
    leases = [Leases(db["leases"], f"owner{n}") for n in range(WRITERS)]
    taken = await asyncio.gather(*(one.take("k", timedelta(seconds=30)) for one in leases))
    held = [lease for lease in taken if lease is not None]
    assert len(held) == 1
    assert await leases[0].take("k", timedelta(seconds=30)) is None
    await leases[1].release(held[0])  # the holder's token decides, not who calls
    assert await leases[2].take("k", timedelta(milliseconds=1)) is not None
    await asyncio.sleep(0.01)  # that one ran out: the next taker gets it
    assert await leases[3].take("k", timedelta(seconds=30)) is not None


async def test_the_relay_removes_only_what_it_published(db: AsyncDatabase) -> None:
    """Events appended while the relay publishes stay, flagged, for the next pass; the
    aggregate's version is untouched by the relay, so writers never conflict with it."""
    published: list[str] = []
    col = db["aggregates"]
    first, second, third = an_event(1), an_event(2), an_event(3)
    store = AggregateStore(col, Counter)
    await store.add(Counter(id="t", name="t"), first, second)

    async def publish(item: dict[str, Any]) -> None:
        if not published:  # a writer appends while the first event is on its way
            thing = await store.get("t")
            assert thing is not None
            await store.save(thing, third)
        published.append(item["event_id"])

    relay = OutboxRelay(db, ["aggregates"], publish, owner="test")
    # The first pass leaves the third event (and the flag) behind; the drain's next pass
    # finds it by that flag.
    assert await relay.drain() == 3
    doc = await col.find_one({"_id": "t"})
    assert doc[OUTBOX] == [] and PENDING not in doc  # type: ignore[index, operator]
    assert published == [str(e.event_id) for e in (first, second, third)]
    assert doc["_v"] == 2  # type: ignore[index]


def now_true(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """A plain condition as the check ``eventually`` polls."""

    async def check() -> bool:
        return condition()

    return check


class UpdateCounter(monitoring.CommandListener):
    """Notes how many statements each ``update`` command on one collection carries."""

    def __init__(self, collection: str, seen: list[int]) -> None:
        self.collection, self.seen = collection, seen

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update" and event.command.get("update") == self.collection:
            self.seen.append(len(event.command["updates"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


async def test_a_batch_removes_what_went_out_in_one_write_and_keeps_the_rest(
    db: AsyncDatabase, infra: Endpoints
) -> None:
    """Five documents relayed together: one publish fails (its events stay for the next
    pass), one gains an event meanwhile (kept, flagged); the other three are emptied by a
    single database command, and nothing is published twice in the pass."""
    col = db["batch"]
    store = AggregateStore(col, Counter)
    events = {i: an_event(10 + i) for i in range(5)}
    for i, event in events.items():
        await store.add(Counter(id=f"d{i}", name=f"d{i}"), event)
    late = an_event(20)
    published: list[str] = []

    async def publish(item: dict[str, Any]) -> None:
        if item["event_id"] == str(events[1].event_id):
            raise RuntimeError("broker refused")
        if item["event_id"] == str(events[2].event_id):
            thing = await store.get("d2")
            assert thing is not None
            await store.save(thing, late)
        published.append(item["event_id"])

    updates: list[int] = []
    client: AsyncMongoClient = AsyncMongoClient(
        infra.mongodb_uri, tz_aware=True, event_listeners=[UpdateCounter("batch", updates)]
    )
    try:
        relay = OutboxRelay(client[db.name], ["batch"], publish, owner="test")
        docs = [{**d, "_claim": None} async for d in col.find({PENDING: PENDING_MARK})]
        with pytest.raises(RuntimeError, match="broker refused"):
            await relay._relay("batch", docs)
    finally:
        await client.close()
    assert sorted(published) == sorted(str(events[i].event_id) for i in (0, 2, 3, 4))
    assert updates[0] == 4  # one command for the four published documents
    stored = {d["_id"]: d async for d in col.find({})}
    for i in (0, 3, 4):
        assert stored[f"d{i}"][OUTBOX] == [] and PENDING not in stored[f"d{i}"]
    assert [e["event_id"] for e in stored["d1"][OUTBOX]] == [str(events[1].event_id)]
    assert stored["d1"][PENDING] == PENDING_MARK
    assert [e["event_id"] for e in stored["d2"][OUTBOX]] == [str(late.event_id)]
    assert stored["d2"][PENDING] == PENDING_MARK


async def test_under_load_hinted_events_go_in_batches_spaced_by_the_linger(
    db: AsyncDatabase, infra: Endpoints
) -> None:
    """The first event after a quiet spell goes at once; those hinted while a batch lingers
    go together in the next, removed by one write."""
    updates: list[int] = []
    client: AsyncMongoClient = AsyncMongoClient(
        infra.mongodb_uri, tz_aware=True, event_listeners=[UpdateCounter("linger", updates)]
    )
    published: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    async def publish(item: dict[str, Any]) -> None:
        published[item["event_id"]] = loop.time()

    relay = OutboxRelay(client[db.name], ["linger"], publish, owner="test", batch_linger_s=0.5)
    store = AggregateStore(db["linger"], Counter)
    relay.start()
    try:
        first = an_event(30)
        await store.add(Counter(id="l0", name="l0"), first)
        hinted_at = loop.time()
        relay.hint([("linger", "l0", None)])
        await eventually(now_true(lambda: str(first.event_id) in published), 5)
        for i in range(1, 7):
            await store.add(Counter(id=f"l{i}", name=f"l{i}"), an_event(30 + i))
            relay.hint([("linger", f"l{i}", None)])
        await eventually(now_true(lambda: len(published) == 7), 10)
        await eventually(now_true(lambda: sum(updates) == 7), 5)
    finally:
        await relay.stop()
        await client.close()
    assert published[str(first.event_id)] - hinted_at < 0.4  # no linger after a quiet spell
    assert updates[0] == 1 and len(updates) <= 3  # the six later ones in one or two batches
    assert await db["linger"].count_documents({PENDING: PENDING_MARK}) == 0


async def test_events_flagged_the_earlier_way_are_still_published(
    db: AsyncDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Earlier versions flagged pending documents with ``True``, which no look-up index
    narrows: the relay still finds them, also one written after a pass that found none (an
    instance of the previous version, during a rolling upgrade)."""
    monkeypatch.setattr(outbox, "LEGACY_SCAN_EVERY_S", 0.0)
    published: list[str] = []

    async def publish(item: dict[str, Any]) -> None:
        published.append(item["event_id"])

    relay = OutboxRelay(db, ["legacy"], publish, owner="test")
    assert await relay.drain() == 0
    event = an_event(40)
    await db["legacy"].insert_one({"_id": "old", OUTBOX: [outbox.stored(event)], PENDING: True})
    assert await relay.drain() == 1
    assert published == [str(event.event_id)]
    doc = await db["legacy"].find_one({"_id": "old"})
    assert doc is not None and doc[OUTBOX] == [] and PENDING not in doc


async def test_a_large_batch_is_removed_in_chunks_the_database_can_serve(
    db: AsyncDatabase,
) -> None:
    """FerretDB holds a connection per statement of an update command until it ends (100 at
    most): 150 hinted documents removed in one command deadlocked the whole database."""
    store = AggregateStore(db["many"], Counter)
    for i in range(150):
        await store.add(Counter(id=f"m{i}", name=f"m{i}"), an_event(100 + i))

    async def publish(_: dict[str, Any]) -> None:
        return None

    relay = OutboxRelay(db, ["many"], publish, owner="test")
    relay.hint([("many", f"m{i}", None) for i in range(150)])
    assert await asyncio.wait_for(relay._drain_hinted(), timeout=120) == 150
    assert await db["many"].count_documents({PENDING: PENDING_MARK}) == 0


async def test_an_aggregate_with_unpublished_events_is_not_removed(db: AsyncDatabase) -> None:
    """Removing it would lose them: remove is refused (Stale) until the relay published."""
    store = AggregateStore(db["removals"], Counter)
    await store.add(Counter(id="r", name="r"), an_event(7))
    loaded = await store.get("r")
    assert loaded is not None
    with pytest.raises(Stale):
        await store.remove(loaded)

    async def publish(_: dict[str, Any]) -> None:
        return None

    assert await OutboxRelay(db, ["removals"], publish, owner="test").drain() == 1
    await store.remove(loaded)
    assert await store.get("r") is None


# -- retention by TTL index, where the server has them ---------------------------------------
async def _has_ttl_indexes(db: AsyncDatabase) -> bool:
    """Ask the server itself; FerretDB 1.x must refuse with the codes the fallback expects."""
    try:
        await db["ttl_probe"].create_index("at", expireAfterSeconds=60, name="probe")
    except OperationFailure as exc:
        assert exc.code in mongo.NO_EXPIRY_CODES, exc.details
        return False
    return True


def _expiry_of(indexes: list[dict[str, Any]], name: str) -> Any:
    return next((i.get("expireAfterSeconds") for i in indexes if i["name"] == name), None)


async def test_retention_indexes_follow_their_setting_where_the_server_has_ttl(db: AsyncDatabase):
    """MongoDB deletes what the maintenance pass would, by the same rule: the TTL index is
    built with the retention, retuned when the retention changes, and a plain index an
    earlier version built on the field becomes the TTL one. A server without TTL indexes
    (FerretDB 1.x) gets none, and starting on it fails nothing."""
    reads, hits = db["document_reads"], db["ip_hits"]
    await reads.insert_one({"_id": "r", "read_at": datetime.now(UTC)})
    await hits.create_index([("until", 1)], name="until")  # as before TTL indexes
    year = mongo.expiry_index("read_at", timedelta(days=365))
    await mongo.ensure_indexes(reads, year)
    await mongo.ensure_indexes(hits, mongo.expiry_index("until", timedelta(), name="until"))
    if not await _has_ttl_indexes(db):
        assert _expiry_of(await (await reads.list_indexes()).to_list(), "read_at_expiry") is None
        await mongo.ensure_expiry(reads, year)  # the server's refusal is not an error
        assert await reads.count_documents({}) == 1  # nothing expired, nothing lost
        return
    assert _expiry_of(await (await reads.list_indexes()).to_list(), "read_at_expiry") == 365 * 86400
    assert _expiry_of(await (await hits.list_indexes()).to_list(), "until") == 0
    await mongo.ensure_indexes(reads, mongo.expiry_index("read_at", timedelta(days=30)))
    assert _expiry_of(await (await reads.list_indexes()).to_list(), "read_at_expiry") == 30 * 86400
    assert await reads.count_documents({}) == 1
    # A retention longer than a TTL index holds (68 years) is left to the maintenance pass:
    # the index built for the shorter one goes, or it would delete too early.
    await mongo.ensure_indexes(reads, mongo.expiry_index("read_at", timedelta(days=30_000)))
    names = {i["name"] for i in await (await reads.list_indexes()).to_list()}
    assert "read_at_expiry" not in names and await reads.count_documents({}) == 1
