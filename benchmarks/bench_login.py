"""Login: logins per second against the raw argon2id verify rate on the same cores.

Signs up and confirms U users (tokens read from the UserRegistered topic and opened with the
cluster's sealing key, as notification would), then runs N logins at concurrency C. Each login
verifies one argon2id hash, so the ceiling is the verify rate. Target >= 0.8. A warm-up of
N/10 logins (at least 32) runs first and is not counted.

    uv run python -m benchmarks.bench_login [N] [C]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from secop_runtime.sealing import open_sealed

from benchmarks._ceilings import argon2_rate
from benchmarks._cpu import Meter, argon2_cpu_ms
from benchmarks._harness import db_time, percentiles, report, running_cluster
from benchmarks.bench_signup import signup_body
from tests.support.kafka import options_for

USERS = 40


async def confirmation_tokens(bootstrap: str, topic: str, count: int, key: str) -> list[str]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", **options_for(bootstrap)
    )
    await consumer.start()
    tokens: dict[str, str] = {}
    try:
        while len(tokens) < count:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for r in records:
                    event = json.loads(r.value)
                    sealed = event["payload"]["sealed_confirmation_token"]
                    tokens[event["event_id"]] = open_sealed(key, sealed)
    finally:
        await consumer.stop()
    return list(tokens.values())


async def run(n: int, concurrency: int, record: bool = True) -> dict[str, Any]:
    ceiling = argon2_rate("verify")
    with running_cluster(
        services=("registration",), extra_env={"IP_LIMIT_PER_MINUTE": "1000000"}
    ) as bench:
        tag = "l" + uuid.uuid4().hex[:6]
        # Two logins of one user from one client never overlap (the second would wait: 429).
        users = max(USERS, 2 * concurrency)
        forms = [signup_body(i, tag) for i in range(users)]
        async with httpx.AsyncClient(
            base_url=bench.cluster.url("registration"), timeout=120
        ) as client:
            for form in forms:
                (await client.post("/users", json=form)).raise_for_status()
            topic = f"{bench.cluster.prefix}.UserRegistered"
            for token in await confirmation_tokens(
                bench.infra.kafka_bootstrap, topic, users, bench.cluster.keys.seal_private
            ):
                (await client.post("/users/confirmation", json={"token": token})).raise_for_status()
            gate = asyncio.Semaphore(concurrency)
            latencies: list[float] = []

            async def one(i: int) -> None:
                form = forms[i % users]
                async with gate:
                    t = time.perf_counter()
                    r = await client.post(
                        "/sessions",
                        json={"username": form["username"], "password": form["password"]},
                    )
                    r.raise_for_status()
                    latencies.append(time.perf_counter() - t)

            await asyncio.gather(*(one(i) for i in range(max(n // 10, 32))))  # warm-up
            latencies.clear()
            meter = Meter(bench).start()
            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - start
            costs = meter.per_operation(n)
        print(
            "registration's database time:", *db_time(bench.cluster.url("registration")), sep="\n  "
        )
    rate = n / elapsed
    verify_ms = argon2_cpu_ms("verify")
    figures = {
        "logins": n,
        "concurrency": concurrency,
        "logins_per_s": rate,
        "argon2_verify_per_s": ceiling,
        "ratio": rate / ceiling,
        **{f"latency_{k}_s": v for k, v in percentiles(latencies).items()},
        # One verify on an idle core, beside what the service's hashing threads measured
        # under load (``argon2_cpu_ms_per_op``): contention's share.
        "argon2_verify_cpu_ms_alone": verify_ms,
        # Budget (issue 19): at most 3 ms, and at most 4 database commands per login.
        "registration_cpu_ms_outside_argon2": costs["cpu_ms_outside_argon2_per_op"]["registration"],
        **costs,
    }
    if record:
        report("login", figures)
    return figures


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(run(args[0] if args else 400, args[1] if len(args) > 1 else 16))
