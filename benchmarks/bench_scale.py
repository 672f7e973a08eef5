"""Cost as the data grows: sign-up, confirmation, login and password recovery with 0, 10,000
and 100,000 users already stored (issue 19: within 20% of the empty database's figures).

One registration instance on the local infrastructure. Before each round, confirmed users are
bulk-inserted straight into its ``users`` collection (built by the domain's own model, a
thousand per command: not through HTTP, which would take hours at argon2's pace). Each round
then runs K of each operation at concurrency C and records, per operation, registration's CPU
outside argon2 (its hashing threads measure argon2 themselves), FerretDB's CPU and
registration's database commands (``benchmarks/_cpu.py``). Recovery is the request
(``POST /recovery/password``, done by the service's request worker) and the reset with the
emailed token, counted as one operation.

    uv run python -m benchmarks.bench_scale [K] [C] [PRELOAD ...]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from argon2 import PasswordHasher
from pymongo import AsyncMongoClient
from registration.domain import identity
from registration.domain.user import User
from registration.domain.user_state import ACTIVE
from secop_runtime.sealing import open_sealed

from benchmarks._cpu import Meter
from benchmarks._harness import Bench, report, running_cluster, scrape
from benchmarks.bench_signup import signup_body
from tests.support.kafka import options_for

PRELOADS = (0, 10_000, 100_000)
NEW_PASSWORD = "Otra-Clave-Segura-9!"
#: The operations measured, and the figures kept for each.
FIGURES = ("registration_cpu_ms", "ferretdb_cpu_ms", "db_commands")


def stored_user(i: int, tag: str, password_hash: str, now: datetime) -> dict[str, Any]:
    """A confirmed user as the service stores one."""
    form = signup_body(i, tag)
    details = {
        k: str(v)
        for k, v in form.items()
        if k not in ("password", "password_confirmation", "security_answer", "accept_terms")
    }
    user = User(
        id=str(uuid.uuid4()),
        **details,
        email_key=identity.email_key(details["email"]),
        document_key=identity.document_key(details["document_type"], details["document_number"]),
        status=ACTIVE,
        registered_at=now,
        confirmed_at=now,
        password_hash=password_hash,
        security_answer_hash=password_hash,
    )
    return user.document()


async def preload(bench: Bench, first: int, count: int, tag: str, password_hash: str) -> float:
    """Insert users ``first`` .. ``first + count``; returns the seconds it took."""
    client: AsyncMongoClient = AsyncMongoClient(bench.infra.mongodb_uri)
    users = client[f"{bench.cluster.prefix}_registration"]["users"]
    start, now = time.perf_counter(), datetime.now(UTC)
    try:
        for chunk in range(first, first + count, 1000):
            end = min(chunk + 1000, first + count)
            docs = [stored_user(i, tag, password_hash, now) for i in range(chunk, end)]
            await users.insert_many(docs, ordered=False)
    finally:
        await client.close()
    return time.perf_counter() - start


async def sealed_tokens(bench: Bench, event: str, field: str, wanted: set[str]) -> dict[str, str]:
    """The plain tokens in ``event``'s ``field`` for the users in ``wanted``, by user id."""
    bootstrap = bench.infra.kafka_bootstrap
    consumer = AIOKafkaConsumer(
        f"{bench.cluster.prefix}.{event}",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        **options_for(bootstrap),
    )
    await consumer.start()
    found: dict[str, str] = {}
    deadline = time.monotonic() + 120
    try:
        while set(found) < wanted and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    value = json.loads(record.value)
                    user_id = value["payload"]["user_id"]
                    if user_id in wanted:
                        found[user_id] = open_sealed(
                            bench.cluster.keys.seal_private, value["payload"][field]
                        )
    finally:
        await consumer.stop()
    assert set(found) >= wanted, f"{len(found)} of {len(wanted)} {event} tokens arrived"
    return found


def db_ms(bench: Bench) -> dict[str, float]:
    """Registration's database milliseconds so far, by collection and command."""
    found: dict[str, float] = {}
    for (name, labels), value in scrape(bench.cluster.url("registration")).items():
        if name == "secop_db_command_seconds_sum":
            key = f"{dict(labels)['collection']} {dict(labels)['command']}"
            found[key] = found.get(key, 0.0) + value * 1000
    return found


class Measure:
    """Per-operation figures over a stretch of work, and where the database time went."""

    def __init__(self, bench: Bench) -> None:
        self.bench, self.meter, self.before = bench, Meter(bench).start(), db_ms(bench)

    def done(self, k: int) -> dict[str, Any]:
        costs = self.meter.per_operation(k)
        after = db_ms(self.bench)
        spent = {n: (v - self.before.get(n, 0.0)) / k for n, v in after.items()}
        return {
            "registration_cpu_ms": costs["cpu_ms_outside_argon2_per_op"]["registration"],
            "ferretdb_cpu_ms": costs["cpu_ms_per_op"]["ferretdb"],
            "db_commands": costs["db_commands_per_op"]["registration"],
            "db_ms_by_command": {
                n: round(v, 3) for n, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v > 0
            },
        }


async def measured(
    bench: Bench, k: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)

    async def gated(i: int) -> None:
        async with gate:
            await one(i)

    measure = Measure(bench)
    await asyncio.gather(*(gated(i) for i in range(k)))
    return measure.done(k)


async def round_of(
    bench: Bench, client: httpx.AsyncClient, k: int, concurrency: int
) -> dict[str, dict[str, Any]]:
    """K of each operation, on users this round signs up."""
    tag = "s" + uuid.uuid4().hex[:6]
    forms = [signup_body(i, tag) for i in range(k)]
    ids: list[str] = [""] * k

    async def sign_up(i: int) -> None:
        response = await client.post("/users", json=forms[i])
        response.raise_for_status()
        ids[i] = response.json()["user_id"]

    figures = {"signup": await measured(bench, k, concurrency, sign_up)}
    confirm = await sealed_tokens(bench, "UserRegistered", "sealed_confirmation_token", set(ids))

    async def confirmation(i: int) -> None:
        token = confirm[ids[i]]
        (await client.post("/users/confirmation", json={"token": token})).raise_for_status()

    figures["confirmation"] = await measured(bench, k, concurrency, confirmation)

    async def login(i: int) -> None:
        body = {"username": forms[i]["username"], "password": forms[i]["password"]}
        (await client.post("/sessions", json=body)).raise_for_status()

    figures["login"] = await measured(bench, k, concurrency, login)

    async def ask(i: int) -> None:
        body = {"username": forms[i]["username"]}
        (await client.post("/recovery/password", json=body)).raise_for_status()

    # The request and the reset are one operation: the worker's share falls between them.
    measure = Measure(bench)
    gate = asyncio.Semaphore(concurrency)

    async def gated_ask(i: int) -> None:
        async with gate:
            await ask(i)

    await asyncio.gather(*(gated_ask(i) for i in range(k)))
    reset = await sealed_tokens(bench, "PasswordResetRequested", "sealed_reset_token", set(ids))

    async def finish(i: int) -> None:
        async with gate:
            body = {
                "token": reset[ids[i]],
                "new_password": NEW_PASSWORD,
                "new_password_confirmation": NEW_PASSWORD,
            }
            (await client.post("/recovery/password/reset", json=body)).raise_for_status()

    await asyncio.gather(*(finish(i) for i in range(k)))
    figures["recovery"] = measure.done(k)
    return figures


async def run(k: int, concurrency: int, preloads: tuple[int, ...]) -> None:
    settings = {"IP_LIMIT_PER_MINUTE": "1000000", "SIGNUP_HASH_LIMIT": str(max(concurrency, 8))}
    password_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(
        "Correct-Horse-7-battery!"
    )
    rounds: dict[str, dict[str, dict[str, Any]]] = {}
    loaded_s: dict[str, float] = {}
    with running_cluster(services=("registration",), extra_env=settings) as bench:
        async with httpx.AsyncClient(
            base_url=bench.cluster.url("registration"), timeout=120
        ) as client:
            await round_of(bench, client, max(k // 4, 10), concurrency)  # warm-up, not kept
            stored, tag = 0, "p" + uuid.uuid4().hex[:6]
            for size in preloads:
                if size > stored:
                    loaded_s[str(size)] = await preload(
                        bench, stored, size - stored, tag, password_hash
                    )
                    stored = size
                rounds[str(size)] = await round_of(bench, client, k, concurrency)
                print(f"with {size} users stored:", json.dumps(rounds[str(size)], indent=1))
    base = rounds[str(preloads[0])]
    growth = {
        size: {
            op: {f: figures[op][f] / base[op][f] if base[op][f] else 0.0 for f in FIGURES}
            for op in figures
        }
        for size, figures in rounds.items()
    }
    worst = max(
        (g for size in growth.values() for op in size.values() for g in op.values()), default=1
    )
    report(
        "scale",
        {
            "operations_per_round": k,
            "concurrency": concurrency,
            "preload_seconds": loaded_s,
            "per_operation": rounds,
            "relative_to_empty": growth,
            # Target (issue 19): every figure within 20% of the empty database's.
            "worst_growth": worst,
        },
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(
        run(
            args[0] if args else 100,
            args[1] if len(args) > 1 else 8,
            tuple(args[2:]) or PRELOADS,
        )
    )
