"""Ceilings measured on the same cores in the same run."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher


def argon2_rate(
    operation: str,
    seconds: float = 5.0,
    time_cost: int = 2,
    memory_kib: int = 19456,
    parallelism: int = 1,
) -> float:
    """argon2id hashes (or verifies) per second with every core busy (argon2 releases the GIL)."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    reference = hasher.hash("Correct-Horse-7-battery")
    workers = os.cpu_count() or 1

    def work(deadline: float) -> int:
        done = 0
        while time.perf_counter() < deadline:
            if operation == "hash":
                hasher.hash("Correct-Horse-7-battery")
            else:
                hasher.verify(reference, "Correct-Horse-7-battery")
            done += 1
        return done

    start = time.perf_counter()
    deadline = start + seconds
    with ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(work, [deadline] * workers))
    return total / (time.perf_counter() - start)
