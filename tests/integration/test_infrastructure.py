"""The real infrastructure answers, and every service skeleton is healthy on it."""

from __future__ import annotations

import asyncio
import re
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from pymongo import AsyncMongoClient, IndexModel
from pymongo.errors import DuplicateKeyError
from secop_devinfra.infra import Endpoints
from secop_runtime.mongo import ensure_indexes, lookup_index, only_unique_indexes_serve
from secop_runtime.outbox import PENDING, PENDING_MARK

from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.integration

SERVICES = ("registration", "membership", "support", "notification")


async def test_a_document_round_trips_through_the_database(infra: Endpoints, uid: str) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        collection = client[f"{uid}_roundtrip"]["things"]
        await collection.create_index("name", unique=True)
        await collection.insert_one({"_id": "a", "name": "Ñandú", "tags": ["x", "y"]})
        assert await collection.find_one({"name": "Ñandú"}) == {
            "_id": "a",
            "name": "Ñandú",
            "tags": ["x", "y"],
        }
    finally:
        await client.close()


async def test_indexes_are_built_where_the_database_can_use_them(
    infra: Endpoints, uid: str
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        collection = client[f"{uid}_indexes"]["things"]
        await collection.insert_one({"_id": "a", "name": "uno", "kind": "x"})
        # As an earlier version left it: a secondary index FerretDB never reads.
        await collection.create_index("kind", name="by_kind")
        wanted = (
            IndexModel("name", unique=True, name="uniq_name"),
            IndexModel("kind", name="by_kind"),
        )
        await ensure_indexes(collection, *wanted)
        await ensure_indexes(collection, *wanted)  # idempotent: a restart changes nothing

        names = {doc["name"] async for doc in await collection.list_indexes()}
        if await only_unique_indexes_serve(collection):
            assert names == {"_id_", "uniq_name"}
        else:
            assert names == {"_id_", "uniq_name", "by_kind"}
        with pytest.raises(DuplicateKeyError):  # the rule holds on every database
            await collection.insert_one({"_id": "b", "name": "uno"})
    finally:
        await client.close()


async def test_lookups_by_id_and_unique_keys_find_exactly_their_documents(
    infra: Endpoints, uid: str
) -> None:
    """FerretDB is patched to narrow such look-ups with an index (it read every row): the
    narrowing must keep every match, whatever the characters, and the handler the rest."""
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        collection = client[f"{uid}_lookups"]["things"]
        await ensure_indexes(collection, IndexModel("name", unique=True, name="uniq_name"))
        names = ["uno", "Ñandú", 'comillas "dobles" y \\ barra', "<a&b>", "O'Brien", "😀", "1"]
        await collection.insert_many(
            [{"_id": f"id-{i}", "name": n, "kind": i % 2} for i, n in enumerate(names)]
            + [{"_id": "number", "name": 1}, {"_id": "nameless"}]
        )
        for i, name in enumerate(names):
            assert await collection.find_one({"name": name}) == {
                "_id": f"id-{i}",
                "name": name,
                "kind": i % 2,
            }
            # the other conditions of the filter still apply
            assert await collection.find_one({"name": name, "kind": 1 - i % 2}) is None
            assert await collection.count_documents({"_id": f"id-{i}", "kind": i % 2}) == 1
            assert await collection.count_documents({"_id": f"id-{i}", "kind": 9}) == 0
        assert await collection.find_one({"name": "dos"}) is None
        assert [d["_id"] async for d in collection.find({"name": 1})] == ["number"]
        assert [d["_id"] async for d in collection.find({"name": "1"})] == ["id-6"]
        # writes find their document the same way
        updated = await collection.update_one({"name": "O'Brien", "kind": 0}, {"$set": {"x": 1}})
        assert updated.modified_count == 1
        assert (await collection.find_one({"_id": "id-4"}) or {}).get("x") == 1
        assert (await collection.delete_one({"_id": "id-0", "kind": 0})).deleted_count == 1
        assert await collection.count_documents({}) == len(names) + 1

        if await only_unique_indexes_serve(collection):
            for query in ({"name": "Ñandú", "kind": 1}, {"_id": "id-1", "kind": 1}):
                plan = await collection.database.command(
                    "explain", {"find": "things", "filter": query}
                )
                assert plan["filterPushdown"] is True, plan
    finally:
        await client.close()


async def test_a_look_up_index_narrows_by_its_first_field_and_refuses_nothing(
    infra: Endpoints, uid: str
) -> None:
    """On FerretDB a look-up index is built unique with ``_id`` appended: many documents may
    share a value or lack the field, every match is found, and the query is pushed down to the
    index (it read the whole collection); the outbox's pending mark is found the same way."""
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        collection = client[f"{uid}_lookup_index"]["things"]
        await ensure_indexes(
            collection,
            lookup_index([("state", 1), ("at", 1)], "due"),
            lookup_index(PENDING, "outbox_pending"),
        )
        await ensure_indexes(collection, lookup_index([("state", 1), ("at", 1)], "due"))  # again
        await collection.insert_many(
            [{"_id": f"t{i}", "state": "queued" if i % 3 else "sent", "at": i} for i in range(30)]
            + [{"_id": "stateless"}, {"_id": "waits", "state": "sent", PENDING: PENDING_MARK}]
        )
        queued = [d["_id"] async for d in collection.find({"state": "queued"}).sort("at", 1)]
        assert queued == [f"t{i}" for i in range(30) if i % 3]
        assert await collection.count_documents({"state": "sent"}) == 11
        assert [d["_id"] async for d in collection.find({PENDING: PENDING_MARK})] == ["waits"]
        if await only_unique_indexes_serve(collection):
            names = {d["name"] async for d in await collection.list_indexes()}
            assert {"due_by_id", "outbox_pending_by_id"} <= names
            for query in ({"state": "queued", "at": {"$lte": 9}}, {PENDING: PENDING_MARK}):
                plan = await collection.database.command(
                    "explain", {"find": "things", "filter": query}
                )
                assert plan["filterPushdown"] is True, plan
    finally:
        await client.close()


async def test_concurrent_updates_of_one_document_all_apply(infra: Endpoints, uid: str) -> None:
    """Counters and claims rely on each update applying atomically, as MongoDB does (FerretDB
    is patched for it: it read and wrote in two steps, and racing increments counted once)."""
    clients = [AsyncMongoClient(infra.mongodb_uri, tz_aware=True) for _ in range(4)]
    try:
        cols = [c[f"{uid}_atomic"]["counters"] for c in clients]
        await cols[0].insert_one({"_id": "c", "n": 0, "owner": None})

        async def bump(i: int) -> None:
            col = cols[i % len(cols)]
            if i % 2:
                await col.update_one({"_id": "c"}, {"$inc": {"n": 1}})
            else:
                await col.find_one_and_update({"_id": "c"}, {"$inc": {"n": 1}})

        await asyncio.gather(*(bump(i) for i in range(60)))
        assert (await cols[0].find_one({"_id": "c"}) or {})["n"] == 60

        async def claim(i: int) -> bool:
            won = await cols[i % len(cols)].find_one_and_update(
                {"_id": "c", "owner": None}, {"$set": {"owner": i}}
            )
            return won is not None

        assert sum(await asyncio.gather(*(claim(i) for i in range(20)))) == 1
    finally:
        for client in clients:
            await client.close()


async def test_an_email_reaches_the_smtp_sink_and_can_be_read(
    infra: Endpoints, mailbox: Mailbox
) -> None:
    to = f"{uuid.uuid4().hex[:8]}@example.co"
    message = EmailMessage()
    message["From"] = "SECOP II <no-reply@secop.test>"
    message["To"] = to
    message["Subject"] = "Activación de su registro en SECOP"
    message.set_content("Texto plano")
    message.add_alternative("<p>Texto <b>HTML</b></p>", subtype="html")
    await aiosmtplib.send(message, hostname=infra.smtp_host, port=infra.smtp_port)
    [received] = await mailbox.wait_for(to, subject="Activación")
    assert received["Subject"] == "Activación de su registro en SECOP"
    assert "Texto plano" in received["Text"] and "<b>HTML</b>" in received["HTML"]


@pytest.mark.parametrize("name", SERVICES)
async def test_each_service_is_ready_with_docs_and_metrics(start_service: Any, name: str) -> None:
    service = await start_service(name)
    live = await service.client.get("/health/live")
    ready = await service.client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}
    assert (await service.client.get("/docs")).status_code == 200
    assert "/health/ready" in (await service.client.get("/openapi.json")).json()["paths"]
    metrics = await service.client.get("/metrics")
    assert "secop_http_requests_total" in metrics.text
    # The readiness check reached the database: its time is accounted for by command.
    timed = re.findall(
        r'secop_db_command_seconds_count\{[^}]*command="(\w+)"[^}]*\} (\S+)', metrics.text
    )
    assert any(float(n) >= 1 for _, n in timed), metrics.text[-2000:]


async def test_a_request_keeps_the_callers_correlation_id(start_service: Any) -> None:
    service = await start_service("support")
    response = await service.client.get("/health/live", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"
    fresh = await service.client.get("/health/live", headers={"X-Correlation-ID": "bad id\n"})
    assert fresh.headers["x-correlation-id"] != "bad id\n" and fresh.headers["x-correlation-id"]


async def test_readiness_fails_when_the_database_does_not_answer(start_service: Any) -> None:
    service = await start_service("membership")
    await service.runtime._client.close()  # the database "goes away" under the service
    ready = await service.client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unavailable")
