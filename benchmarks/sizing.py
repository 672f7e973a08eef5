"""The sizing guide's arithmetic: from the benchmarks' CPU per operation to instance counts.

``python -m benchmarks.sizing [--logins 50] [--peak-logins 500] [--signups 5] [--peak-signups 50]
[--emails-per-signup 1] [--vcpu-per-pod 2] [--utilisation 0.6]`` reads the committed sweep
results (``results/login_sweep.json``, ``signup_sweep.json``, ``email_sweep.json``), takes each
process's CPU milliseconds per operation (the median over the sweep's concurrency points, which
leaves out a stalled point's outlier), and prints, for the sustained and the peak load, the vCPUs
each service needs, its instance count at the given pod size and target utilisation, the
Kafka partitions its consumers need, and the broker and database CPU the same measurements
imply. Run by hand, like every benchmark; the README's sizing section is its output.

Limits, said where the output is read: the figures come from a 2-core development machine
with FerretDB (SQLite) as the database, so the database's share is an upper bound for MongoDB;
Kafka's is one broker without replication (a replication factor of 3 roughly triples the
bytes each write moves between brokers, not the produce requests' CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
#: Services with a Kafka consumer: at most one busy instance per partition of what they read.
CONSUMERS = ("membership", "support", "notification")
#: Processes that are not ours (sized by their own operators) or are the load itself.
INFRASTRUCTURE = ("kafka", "ferretdb")
IGNORED = ("load_generator", "smtp_sink")
#: No service runs with fewer instances than this (a rolling update or a node loss keeps one).
MIN_INSTANCES = 2


@dataclass(frozen=True)
class Load:
    logins_per_s: float
    signups_per_s: float
    emails_per_signup: float


@dataclass(frozen=True)
class Need:
    process: str
    cpu_ms_per_s: float

    @property
    def vcpus(self) -> float:
        return self.cpu_ms_per_s / 1000


def cost_per_op(points: Sequence[Mapping[str, object]]) -> dict[str, float]:
    """Each process's CPU milliseconds per operation: the median over the sweep's points."""
    by_process: dict[str, list[float]] = {}
    for point in points:
        for process, ms in dict(point.get("cpu_ms_per_op") or {}).items():  # type: ignore[call-overload]
            by_process.setdefault(process, []).append(float(ms))
    return {p: statistics.median(v) for p, v in by_process.items() if p not in IGNORED}


def load_costs(results: Path = RESULTS) -> dict[str, dict[str, float]]:
    """CPU ms per login, per sign-up (its pipeline: every service it reaches) and per email."""
    costs = {}
    for name in ("login", "signup", "email"):
        data = json.loads((results / f"{name}_sweep.json").read_text())
        costs[name] = cost_per_op(data["points"])
    return costs


def needs(costs: Mapping[str, Mapping[str, float]], load: Load) -> list[Need]:
    """CPU per second each process spends at ``load``.

    A sign-up's pipeline already includes its confirmation email; emails beyond one per sign-up
    (recoveries, notices) are charged at the email benchmark's cost.
    """
    total: dict[str, float] = {}
    extra_emails = load.signups_per_s * max(0.0, load.emails_per_signup - 1)
    for name, rate in (
        ("login", load.logins_per_s),
        ("signup", load.signups_per_s),
        ("email", extra_emails),
    ):
        for process, ms in costs[name].items():
            total[process] = total.get(process, 0.0) + ms * rate
    return [Need(p, total[p]) for p in sorted(total)]


def instances(need: Need, vcpu_per_pod: float, utilisation: float) -> int:
    """Pods of ``vcpu_per_pod`` each busy at most ``utilisation`` (headroom for bursts)."""
    return max(MIN_INSTANCES, math.ceil(need.vcpus / (vcpu_per_pod * utilisation)))


def partitions(peak_instances: int) -> int:
    """Enough partitions for the peak's consumers, rounded up to a multiple of 6 (so 1, 2, 3
    and 6 instances share them evenly), at least 6."""
    return max(6, math.ceil(peak_instances / 6) * 6)


def table(
    costs: Mapping[str, Mapping[str, float]],
    sustained: Load,
    peak: Load,
    vcpu_per_pod: float,
    utilisation: float,
) -> str:
    rows = [
        "| process | CPU ms a login | a sign-up | an email | sustained: vCPU, instances "
        "| peak: vCPU, instances | partitions |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    at_peak = {n.process: n for n in needs(costs, peak)}
    for need in needs(costs, sustained):
        high = at_peak[need.process]
        ours = need.process not in INFRASTRUCTURE
        low_n = instances(need, vcpu_per_pod, utilisation) if ours else "-"
        high_n = instances(high, vcpu_per_pod, utilisation) if ours else "-"
        parts = partitions(int(high_n)) if need.process in CONSUMERS else "-"
        per = [costs[k].get(need.process) for k in ("login", "signup", "email")]
        rows.append(
            f"| {need.process} | "
            + " | ".join("-" if v is None else f"{v:.1f}" for v in per)
            + f" | {need.vcpus:.2f}, {low_n} | {high.vcpus:.2f}, {high_n} | {parts} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=float, default=50.0, help="sustained logins a second")
    parser.add_argument("--peak-logins", type=float, default=500.0)
    parser.add_argument("--signups", type=float, default=5.0, help="sustained sign-ups a second")
    parser.add_argument("--peak-signups", type=float, default=50.0)
    parser.add_argument("--emails-per-signup", type=float, default=1.5)
    parser.add_argument("--vcpu-per-pod", type=float, default=2.0)
    parser.add_argument("--utilisation", type=float, default=0.6)
    args = parser.parse_args(argv)
    if not 0 < args.utilisation <= 1 or args.vcpu_per_pod <= 0:
        parser.error("--utilisation must be in (0, 1] and --vcpu-per-pod positive")
    if min(args.logins, args.peak_logins, args.signups, args.peak_signups) < 0:
        parser.error("rates cannot be negative")
    costs = load_costs()
    sustained = Load(args.logins, args.signups, args.emails_per_signup)
    peak = Load(args.peak_logins, args.peak_signups, args.emails_per_signup)
    print(
        f"sustained {args.logins:g} logins/s and {args.signups:g} sign-ups/s; peak "
        f"{args.peak_logins:g} and {args.peak_signups:g}; {args.emails_per_signup:g} emails a "
        f"sign-up; pods of {args.vcpu_per_pod:g} vCPU at {args.utilisation:.0%}\n"
    )
    print(table(costs, sustained, peak, args.vcpu_per_pod, args.utilisation))
    for name, per in costs.items():
        ours = sum(v for p, v in per.items() if p not in INFRASTRUCTURE)
        print(f"\none {name}: {ours:.1f} ms of our services' CPU", end="")
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
