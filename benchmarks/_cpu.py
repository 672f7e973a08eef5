"""What one operation costs each process: CPU milliseconds (from ``/proc``) and database commands
(from each service's ``secop_db_command_seconds_count``), measured around a benchmark's
measured phase, so a ratio of the whole machine can be traced to the process that spends it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher

from benchmarks._harness import Bench, counter, scrape

TICKS = os.sysconf("SC_CLK_TCK")
LOAD_GENERATOR = "load_generator"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu_s(pid: int, children: bool = True) -> float:
    """User plus system CPU seconds of ``pid`` and (``children``) every process below it (a
    launcher's: the JVM under a script, a service under ``uv run``)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        if children:
            todo += _children(current)
    return total


def processes(bench: Bench) -> dict[str, int]:
    """Every process of the cluster that can spend CPU on an operation, and the load
    generator itself (the benchmark's own process)."""
    pids = {name: proc.popen.pid for name, proc in bench.cluster.procs.items() if proc.popen}
    for name, server in (
        ("kafka", bench.local.kafka),
        ("ferretdb", bench.local.ferretdb),
        ("smtp_sink", bench.local.sink),
    ):
        if server.proc is not None and server.proc.popen is not None:
            pids[name] = server.proc.popen.pid
    pids[LOAD_GENERATOR] = os.getpid()
    return pids


def _cpu_s(name: str, pid: int) -> float:
    # The benchmark's own process started the whole cluster: its children are not its load.
    return tree_cpu_s(pid, children=name != LOAD_GENERATOR)


def service_counters(bench: Bench) -> dict[str, dict[str, float]]:
    """Per running service: database commands sent, and CPU seconds its hashing threads
    spent in argon2id (measured in those threads: ``secop_password_hash_cpu_seconds``)."""
    found: dict[str, dict[str, float]] = {}
    for name in bench.cluster.procs:
        samples = scrape(bench.cluster.url(name))
        found[name] = {
            "db": counter(samples, "secop_db_command_seconds_count"),
            "argon2_s": counter(samples, "secop_password_hash_cpu_seconds_total"),
        }
    return found


@dataclass
class Meter:
    """Started before the measured phase, read after it: per-operation figures.

    ``cpu_ms_outside_argon2_per_op`` is each process's CPU less what its own hashing threads
    measured in argon2id, so argon2's deliberate cost (which contention on two cores also
    inflates) does not hide in the subtraction of a figure taken elsewhere."""

    bench: Bench
    _cpu: dict[str, float] = field(default_factory=dict)
    _counters: dict[str, dict[str, float]] = field(default_factory=dict)
    _pids: dict[str, int] = field(default_factory=dict)

    def start(self) -> Meter:
        self._pids = processes(self.bench)
        self._counters = service_counters(self.bench)
        self._cpu = {name: _cpu_s(name, pid) for name, pid in self._pids.items()}
        return self

    def per_operation(self, operations: int) -> dict[str, dict[str, float]]:
        cpu = {name: _cpu_s(name, pid) for name, pid in self._pids.items()}
        counters = service_counters(self.bench)

        def delta(name: str, key: str) -> float:
            before = self._counters.get(name, {}).get(key, 0.0)
            return counters.get(name, {}).get(key, before) - before

        cpu_ms = {n: (cpu[n] - self._cpu[n]) * 1000 / operations for n in self._pids}
        argon2_ms = {n: delta(n, "argon2_s") * 1000 / operations for n in self._pids}
        return {
            "cpu_ms_per_op": cpu_ms,
            "argon2_cpu_ms_per_op": {n: v for n, v in argon2_ms.items() if v > 0},
            "cpu_ms_outside_argon2_per_op": {n: cpu_ms[n] - argon2_ms[n] for n in cpu_ms},
            "db_commands_per_op": {n: delta(n, "db") / operations for n in counters},
        }


def argon2_cpu_ms(operation: str, rounds: int = 20) -> float:
    """CPU milliseconds one argon2id hash (or verify) costs at our parameters, on one core."""
    hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    reference = hasher.hash("Correct-Horse-7-battery")
    start = time.process_time()
    for _ in range(rounds):
        if operation == "hash":
            hasher.hash("Correct-Horse-7-battery")
        else:
            hasher.verify(reference, "Correct-Horse-7-battery")
    return (time.process_time() - start) * 1000 / rounds
