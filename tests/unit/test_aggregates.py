"""The memory store keeps the aggregate store's contract (see ``tests/support/store_contract``)."""

from __future__ import annotations

from typing import Any

import pytest
from secop_runtime.aggregates import MemoryStore

from tests.support.store_contract import MakeStore, StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> MakeStore:
        async def make(model: Any, unique: tuple[str, ...] = ()) -> MemoryStore[Any]:
            return MemoryStore(model, unique=unique)

        return make
