"""Email: emails per second one notification instance delivers from a preloaded topic.

Ceiling: raw aiosmtplib sends to the same sink over as many reused connections as notification
keeps (``MAX_CONCURRENT_SENDS``, 4), one sender per connection. Target >= 0.9 (issue 19). Both
sides also report CPU per email by process (``benchmarks/_cpu.py``), notification its database
commands per email.

    uv run python benchmarks/bench_email.py [K]
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from benchmarks._cpu import Meter
from benchmarks._events import password_changed, preload
from benchmarks._harness import db_time, report, running_cluster

CONNECTIONS = 4  # notification's default MAX_CONCURRENT_SENDS


async def raw_smtp_rate(host: str, port: int, count: int, connections: int = CONNECTIONS) -> float:
    async def sender(first: int) -> None:
        smtp = aiosmtplib.SMTP(hostname=host, port=port)
        await smtp.connect()
        for i in range(first, count, connections):
            message = EmailMessage()
            message["From"] = "no-reply@secop.test"
            message["To"] = f"raw{i}@bench.example.co"
            message["Subject"] = "Aviso de seguridad"
            message.set_content("Su contraseña fue cambiada." * 20)
            message.add_alternative("<p>Su contraseña fue cambiada.</p>" * 20, subtype="html")
            await smtp.send_message(message)
        await smtp.quit()

    start = time.perf_counter()
    await asyncio.gather(*(sender(c) for c in range(connections)))
    return count / (time.perf_counter() - start)


async def run(count: int, connections: int = CONNECTIONS, record: bool = True) -> dict[str, Any]:
    sends = {"MAX_CONCURRENT_SENDS": str(connections)}
    with running_cluster(services=(), extra_env=sends) as bench:
        infra = bench.infra
        raw_meter = Meter(bench).start()
        ceiling = await raw_smtp_rate(infra.smtp_host, infra.smtp_port, count, connections)
        raw_costs = raw_meter.per_operation(count)["cpu_ms_per_op"]
        async with httpx.AsyncClient(base_url=infra.mailbox_url) as mail:
            await mail.delete("/api/v1/messages")
        tag = "m" + uuid.uuid4().hex[:6]
        topic = f"{bench.cluster.prefix}.PasswordChanged"
        await preload(infra.kafka_bootstrap, topic, count, lambda i: password_changed(i, tag))
        bench.cluster.start("notification")
        arrivals: list[tuple[float, int]] = []
        meter: Meter | None = None
        async with httpx.AsyncClient(base_url=infra.mailbox_url, timeout=30) as mail:
            deadline = time.time() + 600
            while time.time() < deadline:
                total = (await mail.get("/api/v1/messages", params={"limit": 1})).json()["total"]
                arrivals.append((time.perf_counter(), total))
                if total and meter is None:  # from the first email: not the start-up's CPU
                    meter = Meter(bench).start()
                if total >= count:
                    break
                await asyncio.sleep(0.2)
        assert meter is not None, "no email arrived"
        started = next((t, n) for t, n in arrivals if n > 0)
        finished = arrivals[-1]
        costs = meter.per_operation(max(finished[1] - started[1], 1))
        print(
            "notification's database time:", *db_time(bench.cluster.url("notification")), sep="\n  "
        )
    rate = (finished[1] - started[1]) / max(finished[0] - started[0], 1e-9)
    figures = {
        "emails": count,
        "delivered": finished[1],
        "notification_emails_per_s": rate,
        "raw_aiosmtplib_per_s": ceiling,
        "smtp_connections": connections,
        "ratio": rate / ceiling,
        "raw_cpu_ms_per_email": {
            k: v for k, v in raw_costs.items() if k in ("load_generator", "smtp_sink")
        },
        **costs,
    }
    if record:
        report("email", figures)
    return figures


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
