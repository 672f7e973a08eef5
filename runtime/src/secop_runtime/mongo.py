"""MongoDB through PyMongo's async API (Motor is deprecated and past its end of life)."""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    DuplicateKeyError,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from secop_runtime import metrics

log = logging.getLogger(__name__)

#: Failures that say "the database is unreachable right now", not "this request is wrong".
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)


#: FerretDB's SQLite backend under write contention; nothing was written, so a retry is safe.
_BUSY_MARKERS = ("database is locked", "SQLITE_BUSY")


def is_transient_db_error(exc: BaseException) -> bool:
    """True when the database could not do the work right now (retry), not that it was wrong."""
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        return True
    return isinstance(exc, OperationFailure) and any(m in str(exc) for m in _BUSY_MARKERS)


class CommandTimings(monitoring.CommandListener):
    """Database time by collection and command, for ``/metrics``.

    Operators see which collection costs what without a profiler; on FerretDB, where a query
    not by ``_id`` reads the whole collection, a growing ``find`` here is the first thing to
    look at.
    """

    def __init__(self) -> None:
        self._started: dict[tuple[Any, int], tuple[str, str, float]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else ""
        self._started[(event.connection_id, event.request_id)] = (
            collection,
            event.command_name,
            time.perf_counter(),
        )

    def _finish(self, event: Any, outcome: str) -> None:
        began = self._started.pop((event.connection_id, event.request_id), None)
        if began is not None:
            collection, command, t0 = began
            metrics.DB_SECONDS.labels(collection, command, outcome).observe(
                time.perf_counter() - t0
            )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finish(event, "ok")

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finish(event, "error")


def is_duplicate(exc: OperationFailure) -> bool:
    """A unique index refused the write. FerretDB 1.24 reports an update's collision as a
    generic error (code 1) naming its backend's constraint, not as E11000: SQLite's words, or
    PostgreSQL's unique-violation code."""
    text = str(exc)
    return (
        isinstance(exc, DuplicateKeyError)
        or "UNIQUE constraint failed" in text
        or "SQLSTATE 23505" in text
    )


def make_client(
    uri: str, app_name: str, listeners: list[monitoring.CommandListener] | None = None
) -> AsyncMongoClient:
    # tz_aware: every datetime we store is UTC and must come back comparable with aware ones.
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=5000,
        connect=False,
        event_listeners=[CommandTimings(), *(listeners or [])],
    )


#: The server behind each client does not change: asked once, not per collection at start-up.
_ONLY_UNIQUE_SERVE: weakref.WeakKeyDictionary[AsyncMongoClient, bool] = weakref.WeakKeyDictionary()


async def only_unique_indexes_serve(collection: AsyncCollection) -> bool:
    """True on FerretDB 1.x: no query uses a non-unique index. Our build (devinfra's patches)
    narrows a query by ``_id`` or by a unique index's first field and reads the whole
    collection for anything else; an unpatched 1.x narrows only ``{_id: value}``."""
    client = collection.database.client
    if client not in _ONLY_UNIQUE_SERVE:
        info = await collection.database.command("buildInfo")
        # MongoDB has no ferretdbVersion; a FerretDB build from the module proxy says
        # "unknown"; 2.x (on DocumentDB) uses its indexes.
        version = info.get("ferretdbVersion")
        _ONLY_UNIQUE_SERVE[client] = version is not None and not str(version).lstrip(
            "v"
        ).startswith(("2.", "3."))
    return _ONLY_UNIQUE_SERVE[client]


#: Marks an index from :func:`lookup_index` (stripped before any server sees it).
_LOOKUP = "secopLookup"


def lookup_index(keys: str | list[tuple[str, Any]], name: str) -> IndexModel:
    """A non-unique index for look-ups by equality on its first field, which must hold one
    string per document (never an array): see :func:`ensure_indexes`."""
    key_list = [(keys, ASCENDING)] if isinstance(keys, str) else list(keys)
    return IndexModel(key_list, name=name, **{_LOOKUP: True})


def _plain(index: IndexModel) -> IndexModel:
    spec = dict(index.document)
    keys = list(spec.pop("key").items())
    spec.pop(_LOOKUP, None)
    return IndexModel(keys, **spec)


async def ensure_indexes(collection: AsyncCollection, *indexes: IndexModel) -> None:
    """Create the indexes a collection's queries and rules need, in the form that serves.

    MongoDB gets them as declared. FerretDB 1.x (the development database) uses only unique
    indexes: our build narrows a query by a string equality on a unique index's first field,
    and reads the whole collection for anything else. So there unique indexes are built as
    declared; a look-up index (:func:`lookup_index`) is built as the unique index on its keys
    plus ``_id`` (``<name>_by_id``), which can never refuse a write (``_id`` is unique) and
    lets a look-up by its first field read only the matching documents (the patch cannot
    match an array's elements, hence only string fields); other non-unique indexes would
    serve nothing and slow every write, so they are not built, and any an earlier version
    built is dropped.
    """
    if not await only_unique_indexes_serve(collection):
        await collection.create_indexes([_plain(index) for index in indexes])
        return
    existing = {doc["name"] async for doc in await collection.list_indexes()}
    for index in indexes:
        spec = index.document
        if spec.get("unique"):
            # One at a time: FerretDB 1.24 panics on a createIndexes of several when some exist.
            await collection.create_indexes([_plain(index)])
            continue
        if spec["name"] in existing:
            await collection.drop_index(spec["name"])
            log.info(
                "index dropped: this database never uses it",
                extra={"collection": collection.name, "index": spec["name"]},
            )
        if spec.get(_LOOKUP):
            keys = list(spec["key"].items())
            if "_id" not in spec["key"]:
                keys.append(("_id", ASCENDING))
            await collection.create_indexes(
                [IndexModel(keys, name=f"{spec['name']}_by_id", unique=True)]
            )
