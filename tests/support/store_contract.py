"""The aggregate store's contract, one suite for every implementation.

Subclasses provide ``make_store`` (the memory fake in the unit tier; MongoDB or FerretDB in the
integration tier), so the fake the service-layer unit tests trust behaves like the servers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from secop_contracts import Event
from secop_contracts.registration import UserSignedOut
from secop_runtime.aggregates import Aggregate, Duplicate, Stale, Store
from secop_runtime.errors import Conflict, Invalid, NotFound
from secop_runtime.events import new_event

MakeStore = Callable[..., Awaitable[Store[Any]]]


class Counter(Aggregate):
    """A tiny aggregate: a unique name, a count, an optional note."""

    name: str
    count: int = 0
    note: str | None = None

    def bump(self) -> None:
        if self.count >= 1000:
            raise Invalid("too many")
        self.count += 1


def an_event(n: int = 0) -> Event:
    return new_event(
        UserSignedOut,
        "registration",
        {
            "user_id": str(uuid.UUID(int=n)),
            "session_id": str(uuid.uuid4()),
            "signed_out_at": "2026-01-01T00:00:00Z",
            "token_expires_at": "2030-01-01T00:00:00Z",
        },
    )


class StoreContract:
    """Every test takes ``await make_store(model, unique=...)`` from the subclass's fixture:
    a new, empty store whose indexes exist."""

    async def test_an_added_aggregate_reads_back_at_version_one(
        self, make_store: MakeStore
    ) -> None:
        store = await make_store(Counter, unique=("name",))
        counter = Counter(id="c1", name="uno", note="hola")
        await store.add(counter, an_event())
        loaded = await store.get("c1")
        assert loaded is not None
        assert (loaded.name, loaded.count, loaded.note, loaded.version) == ("uno", 0, "hola", 1)
        assert (await store.find_one(name="uno")) is not None
        assert await store.get("nope") is None

    async def test_a_unique_key_has_one_holder(self, make_store: MakeStore) -> None:
        store = await make_store(Counter, unique=("name",))
        await store.add(Counter(id="a", name="same"))
        with pytest.raises(Duplicate):
            await store.add(Counter(id="b", name="same"))
        with pytest.raises(Duplicate):
            await store.add(Counter(id="a", name="other"))
        other = Counter(id="c", name="free")
        await store.add(other)
        other.name = "same"
        with pytest.raises(Duplicate):
            await store.save(other)
        assert (await store.get("c")).name == "free"  # type: ignore[union-attr]

    async def test_saving_writes_changes_and_clears_what_became_none(
        self, make_store: MakeStore
    ) -> None:
        store = await make_store(Counter)
        await store.add(Counter(id="c", name="n", note="x"))
        counter = await store.get("c")
        assert counter is not None
        counter.bump()
        counter.note = None
        await store.save(counter, an_event())
        again = await store.get("c")
        assert again is not None
        assert (again.count, again.note, again.version) == (1, None, 2)

    async def test_a_save_on_a_stale_version_is_refused(self, make_store: MakeStore) -> None:
        store = await make_store(Counter)
        await store.add(Counter(id="c", name="n"))
        first, second = await store.get("c"), await store.get("c")
        assert first is not None and second is not None
        first.bump()
        await store.save(first)
        second.bump()
        with pytest.raises(Stale):
            await store.save(second)
        assert (await store.get("c")).count == 1  # type: ignore[union-attr]

    async def test_concurrent_changes_all_apply_once(self, make_store: MakeStore) -> None:
        store = await make_store(Counter)
        await store.add(Counter(id="c", name="n"))

        def bump(counter: Counter) -> list[Event]:
            counter.bump()
            return [an_event(counter.count)]

        results = await asyncio.gather(
            *(store.change("c", bump) for _ in range(8)), return_exceptions=True
        )
        done = [r for r in results if isinstance(r, Counter)]
        assert all(isinstance(r, Counter | Conflict) for r in results), results
        assert (await store.get("c")).count == len(done) >= 1  # type: ignore[union-attr]

    async def test_a_refused_decision_stores_nothing(self, make_store: MakeStore) -> None:
        store = await make_store(Counter)
        await store.add(Counter(id="c", name="n", count=1000))

        def bump(counter: Counter) -> list[Event]:
            counter.bump()
            return [an_event()]

        with pytest.raises(Invalid):
            await store.change("c", bump)
        with pytest.raises(NotFound):
            await store.change("missing", bump)
        assert (await store.get("c")).version == 1  # type: ignore[union-attr]

    async def test_remove_deletes_only_the_version_loaded(self, make_store: MakeStore) -> None:
        store = await make_store(Counter)
        await store.add(Counter(id="c", name="n"))
        old, current = await store.get("c"), await store.get("c")
        assert old is not None and current is not None
        current.bump()
        await store.save(current)
        with pytest.raises(Stale):
            await store.remove(old)
        await store.remove(current)
        assert await store.get("c") is None
