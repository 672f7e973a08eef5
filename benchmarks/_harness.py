"""Shared by the benchmark scripts: a real cluster on this machine, and what to measure it by.

Each benchmark measures its ceiling in the same run, on the same cores, so the ratio means
something on a noisy machine. Results are printed and written to ``benchmarks/results/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from secop_devinfra.cluster import SERVICES, ServiceProcs
from secop_devinfra.infra import Endpoints, LocalInfra, Ports
from secop_devinfra.installs import install_all
from secop_devinfra.keys import generate
from secop_devinfra.procs import free_ports

from tests.support.kafka import use_security

RESULTS = Path(__file__).parent / "results"


@dataclass
class Bench:
    infra: Endpoints
    local: LocalInfra
    cluster: ServiceProcs


@contextlib.contextmanager
def running_cluster(
    services: tuple[str, ...] = SERVICES, extra_env: dict[str, str] | None = None
) -> Iterator[Bench]:
    """Local infrastructure and the chosen services as processes, on free ports.

    Kafka runs with TLS, SCRAM and ACLs as everywhere else; ``SECOP_BENCH_KAFKA_SECURE=0``
    runs it in PLAINTEXT, to measure what security costs. ``SECOP_BENCH_MONGODB_URI`` points
    the services at another MongoDB-wire server (say FerretDB on PostgreSQL, or MongoDB) instead
    of the local FerretDB, to compare them on the same benchmark.
    """
    install_all()
    data = Path(tempfile.mkdtemp(prefix="secop-bench-"))
    ports = free_ports(5 + len(SERVICES))
    secure = os.environ.get("SECOP_BENCH_KAFKA_SECURE", "1") != "0"
    local = LocalInfra(data, Ports(*ports[:5]), secure=secure)
    endpoints = local.start()
    if other_db := os.environ.get("SECOP_BENCH_MONGODB_URI"):
        endpoints = dataclasses.replace(endpoints, mongodb_uri=other_db)
    use_security(endpoints)  # the benchmarks' own clients act as the admin principal
    cluster = ServiceProcs(
        endpoints,
        generate(),
        data / "logs",
        ports=dict(zip(SERVICES, ports[5:], strict=True)),
        prefix="b" + uuid.uuid4().hex[:6],
        extra_env={"LOG_LEVEL": "WARNING", **(extra_env or {})},
    )
    try:
        cluster.grant()
        for name in services:
            cluster.start(name)
        cluster.wait_ready()
        yield Bench(endpoints, local, cluster)
    finally:
        cluster.stop_all()
        local.stop()


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, from /proc (Linux)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            pids.append(int(line))
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    ordered = sorted(values)
    q = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else ordered * 99
    )
    return {"p50": q[49], "p95": q[94], "p99": q[98]}


def report(name: str, figures: dict[str, Any]) -> None:
    figures = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        **figures,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    width = max(len(k) for k in figures)
    print(f"\n== {name} ==")
    for key, value in figures.items():
        if isinstance(value, dict):  # per process: one line each
            print(f"  {key}")
            for name, figure in value.items():
                shown = f"{figure:.3f}" if isinstance(figure, float) else json.dumps(figure)
                print(f"    {name:<{width - 2}}  {shown}")
            continue
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"  {key:<{width}}  {shown}")


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A service's ``/metrics`` as {(sample name, labels): value}."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def counter(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    return sum(
        value
        for (sample, have), value in samples.items()
        if sample == name and set(labels.items()) <= set(have)
    )


def db_time(url: str, top: int = 8) -> list[str]:
    """Where a service's database time went (``secop_db_command_seconds``), costliest first."""
    samples = scrape(url)
    rows: dict[tuple[str, str], list[float]] = {}
    for (name, labels), value in samples.items():
        if name in ("secop_db_command_seconds_sum", "secop_db_command_seconds_count"):
            key = (dict(labels)["collection"], dict(labels)["command"])
            row = rows.setdefault(key, [0.0, 0.0])
            row[0 if name.endswith("_sum") else 1] += value
    ordered = sorted(rows.items(), key=lambda kv: -kv[1][0])[:top]
    return [
        f"{seconds:7.2f} s {int(n):7d} x {seconds / max(n, 1) * 1000:6.2f} ms  {coll} {cmd}"
        for (coll, cmd), (seconds, n) in ordered
    ]
