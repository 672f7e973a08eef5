"""Where each benchmark saturates: login and sign-up at concurrency 1, 4, 16 and 64 (requests
in flight), email at 1, 4, 16 and 64 SMTP connections (notification's ``MAX_CONCURRENT_SENDS``
and the raw ceiling's alike). Each point is its benchmark's own run on a fresh cluster; the
figures go to ``results/<name>_sweep.json`` and the chart to ``results/<name>_sweep.svg``.

Event handling has no concurrency to sweep: one consumer drains a preloaded topic, partitions
side by side (``bench_events``).

    uv run python -m benchmarks.bench_sweep login|signup|email [N]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks import bench_email, bench_login, bench_signup
from benchmarks._harness import RESULTS
from benchmarks._plot import sweep_svg

LEVELS = (1, 4, 16, 64)
#: name: (run one point, default N, throughput figure, ceiling figure, unit)
SWEEPS: dict[str, tuple[Any, int, str, str, str]] = {
    "login": (bench_login.run, 300, "logins_per_s", "argon2_verify_per_s", "logins/s"),
    "signup": (bench_signup.run, 150, "signups_per_s", "ceiling_per_s", "sign-ups/s"),
    "email": (
        bench_email.run,
        500,
        "notification_emails_per_s",
        "raw_aiosmtplib_per_s",
        "emails/s",
    ),
}


async def sweep(name: str, n: int) -> None:
    run, _, rate_key, ceiling_key, unit = SWEEPS[name]
    points: list[dict[str, Any]] = []
    for level in LEVELS:
        figures = await run(n, level, record=False)
        points.append({"concurrency": level, **figures})
        print(f"{name} at {level}: {figures[rate_key]:.1f} {unit}")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (RESULTS / f"{name}_sweep.json").write_text(
        json.dumps({"benchmark": f"{name}_sweep", "at": stamp, "points": points}, indent=2) + "\n"
    )
    has_latency = "latency_p50_s" in points[0]
    svg = sweep_svg(
        f"{name}: {unit} and latency by concurrency ({stamp[:10]})",
        list(LEVELS),
        [p[rate_key] for p in points],
        [p["latency_p50_s"] for p in points] if has_latency else [],
        [p["latency_p99_s"] for p in points] if has_latency else [],
        unit,
        ceiling=sum(p[ceiling_key] for p in points) / len(points),
    )
    (RESULTS / f"{name}_sweep.svg").write_text(svg)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "login"
    asyncio.run(sweep(which, int(sys.argv[2]) if len(sys.argv) > 2 else SWEEPS[which][1]))
