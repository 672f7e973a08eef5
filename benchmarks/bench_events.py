"""Event handling: events per second membership applies from a preloaded topic.

Ceiling: a bare FastStream consumer (its own group, default policy, no work) on the same topic.
Target >= 0.6 of it (issue 19). Membership decodes and validates each event, stores each partition's
user facts of a batch with one insert (a fact's _id is its event's id: no processed marks),
and commits once per batch.

    uv run python -m benchmarks.bench_events [M]
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import httpx
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from benchmarks._cpu import Meter
from benchmarks._events import preload, user_registered
from benchmarks._harness import counter, db_time, report, running_cluster, scrape
from tests.support.kafka import admin_security


async def bare_consumer_rate(bootstrap: str, topic: str, count: int) -> float:
    # No per-message logging (a fair ceiling); the same TLS and principal as everything else.
    broker = KafkaBroker(bootstrap, logger=None, security=admin_security(bootstrap))
    seen: list[float] = []
    done = asyncio.Event()

    @broker.subscriber(topic, group_id="bare-" + uuid.uuid4().hex[:6], auto_offset_reset="earliest")
    async def bare(body: dict) -> None:
        seen.append(time.perf_counter())
        if len(seen) >= count:
            done.set()

    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
    finally:
        await broker.stop()
    return (len(seen) - 1) / (seen[-1] - seen[0])


async def run(count: int) -> None:
    with running_cluster(services=()) as bench:
        prefix = bench.cluster.prefix
        topic = f"{prefix}.UserRegistered"
        tag = "e" + uuid.uuid4().hex[:6]
        await preload(bench.infra.kafka_bootstrap, topic, count, lambda i: user_registered(i, tag))
        bare_meter = Meter(bench).start()
        ceiling = await bare_consumer_rate(bench.infra.kafka_bootstrap, topic, count)
        bare_costs = bare_meter.per_operation(count)["cpu_ms_per_op"]

        bench.cluster.start("membership")
        url = bench.cluster.url("membership")
        # Progress from membership's own counter: polling the database would compete with it.
        # Every 0.2 s: each scrape costs membership CPU, and at 20 per second it took ~9%.
        first = last = None
        meter: Meter | None = None
        while True:
            try:
                n = counter(scrape(url), "secop_events_consumed_total", topic=topic)
            except httpx.HTTPError:
                n = 0  # not listening yet
            now = time.perf_counter()
            if n and first is None:
                first = (now, n)
                meter = Meter(bench).start()  # from the first event: not the start-up's CPU
            if n >= count:
                last = (now, n)
                break
            await asyncio.sleep(0.2)
        assert first is not None and meter is not None
        costs = meter.per_operation(max(last[1] - first[1], 1))
        client: AsyncMongoClient = AsyncMongoClient(bench.infra.mongodb_uri)
        facts = await client[f"{prefix}_membership"]["user_facts"].count_documents({})
        await client.close()
        assert facts == count, f"{facts} user facts stored for {count} events"
        print("membership's database time:", *db_time(bench.cluster.url("membership")), sep="\n  ")
    rate = (last[1] - first[1]) / (last[0] - first[0])
    report(
        "events",
        {
            "events": count,
            "membership_events_per_s": rate,
            "bare_faststream_events_per_s": ceiling,
            "ratio": rate / ceiling,
            # The bare consumer runs in the load generator's process; Kafka serves both.
            "bare_cpu_ms_per_event": {
                k: v for k, v in bare_costs.items() if k in ("load_generator", "kafka")
            },
            **costs,
        },
    )


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20000))
