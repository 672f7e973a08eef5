"""A rebalance on the real broker takes the lag of the partitions it moves off the instance
that read them (``secop_consumer_lag``): a stale copy would stay exported for good and read as
lag or as a stalled consumer. The unit tests (tests/unit/test_consumer_lag.py) cover the
bookkeeping; this shows the group's rebalance reaches it through FastStream and aiokafka."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from tests.conftest import StartService
from tests.integration.registration.helpers import sign_up_form

pytestmark = pytest.mark.integration


def _lag_partitions(topic: str) -> set[str]:
    return {
        sample.labels["partition"]
        for metric in REGISTRY.collect()
        if metric.name == "secop_consumer_lag"
        for sample in metric.samples
        if sample.labels.get("topic") == topic
    }


async def _until(check: object, what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds * 10)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(what)


async def test_a_rebalance_takes_the_moved_partitions_lag_off_the_instance(
    start_service: StartService, uid: str
) -> None:
    registration = await start_service("registration")
    await start_service("membership", instance_id=f"{uid}-a")
    topic = registration.settings.topic("UserRegistered")

    response = await registration.client.post("/users", json=sign_up_form(uid))
    assert response.status_code == 201, response.text
    await _until(lambda: _lag_partitions(topic), "membership never reported its lag")

    # A second instance joins the group: the partitions are revoked and handed out again, and
    # with nothing new to read no instance has a lag to report for them until their next batch.
    await start_service("membership", instance_id=f"{uid}-b")
    await _until(
        lambda: not _lag_partitions(topic),
        f"a revoked partition's lag is still exported: {_lag_partitions(topic)}",
    )
