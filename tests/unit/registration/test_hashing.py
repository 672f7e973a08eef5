"""The real argon2id hasher: its CPU is measured where it is spent, in the hashing thread."""

from __future__ import annotations

from prometheus_client import REGISTRY
from registration.adapters.hashing import Hasher


def _measured(operation: str) -> float:
    value = REGISTRY.get_sample_value(
        "secop_password_hash_cpu_seconds_total", {"operation": operation}
    )
    return value or 0.0


async def test_each_hash_and_verify_adds_its_thread_cpu_to_the_metric() -> None:
    hasher = Hasher(time_cost=1, memory_kib=8192, parallelism=1, workers=1)
    try:
        before = _measured("hash"), _measured("verify")
        stored = await hasher.hash("Correct-Horse-7")
        assert await hasher.verify(stored, "Correct-Horse-7")
        assert not await hasher.verify(None, "Correct-Horse-7")  # the stand-in costs the same
        hashed, verified = _measured("hash") - before[0], _measured("verify") - before[1]
    finally:
        hasher.close()
    # An 8 MiB argon2id pass takes milliseconds of CPU; the event loop's own work is not in it.
    assert 0.0005 < hashed < 1.0 and 0.001 < verified < 2.0
