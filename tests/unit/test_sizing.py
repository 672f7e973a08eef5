"""The sizing guide's arithmetic (benchmarks/sizing.py) over the committed benchmark results."""

from __future__ import annotations

import pytest

from benchmarks.sizing import Load, Need, cost_per_op, instances, load_costs, needs, partitions

pytestmark = pytest.mark.unit


def test_cost_per_op_is_the_median_so_one_stalled_point_does_not_size_the_cluster() -> None:
    points = [{"cpu_ms_per_op": {"notification": ms, "load_generator": 9.0}} for ms in (16, 14, 38)]
    assert cost_per_op(points) == {"notification": 16}  # the load itself is never sized


def test_needs_add_every_operation_and_scale_with_the_load() -> None:
    costs = {
        "login": {"registration": 40.0},
        "signup": {"registration": 70.0, "notification": 20.0},
        "email": {"notification": 15.0},
    }
    low = {n.process: n.cpu_ms_per_s for n in needs(costs, Load(50, 5, 1.5))}
    assert low == {"registration": 50 * 40 + 5 * 70, "notification": 5 * 20 + 2.5 * 15}
    high = {n.process: n.cpu_ms_per_s for n in needs(costs, Load(500, 50, 1.5))}
    assert high == {p: v * 10 for p, v in low.items()}


def test_instances_keep_headroom_and_never_fewer_than_two() -> None:
    assert instances(Need("registration", 23_700), vcpu_per_pod=2, utilisation=0.6) == 20
    assert instances(Need("support", 10), vcpu_per_pod=2, utilisation=0.6) == 2


def test_partitions_cover_the_peak_instances_in_multiples_of_six() -> None:
    assert [partitions(n) for n in (1, 6, 7, 13)] == [6, 6, 12, 18]


def test_the_committed_results_give_a_cost_for_every_service_the_guide_sizes() -> None:
    costs = load_costs()
    assert costs["login"]["registration"] > 0
    assert {"registration", "membership", "notification", "support"} <= set(costs["signup"])
    assert costs["email"]["notification"] > 0
