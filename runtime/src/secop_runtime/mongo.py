"""MongoDB through PyMongo's async API (Motor is deprecated and past its end of life)."""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Mapping
from datetime import timedelta
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


#: The index option that makes MongoDB delete documents by themselves, and its largest value.
_EXPIRY = "expireAfterSeconds"
EXPIRY_MAX_S = 2**31 - 1
#: Server codes for "an index with these keys or this name exists with other options"
#: (IndexOptionsConflict, IndexKeySpecsConflict), and for "no TTL indexes here" (FerretDB's
#: NotImplemented, CommandNotSupported).
_INDEX_CONFLICTS = frozenset({85, 86})
NO_EXPIRY_CODES = frozenset({115, 238})
_INDEX_NOT_FOUND = 27


def expiry_index(field: str, after: timedelta, name: str | None = None) -> IndexModel:
    """A TTL index: a server that has them (MongoDB) deletes a document ``after`` its
    ``field`` (a date) by itself. Each one mirrors a maintenance step that deletes the same
    documents by the same rule on every server (FerretDB has none): the database does the
    hourly pass's work as it falls due, never more. ``after`` comes from the same setting
    the pass reads, so changing that setting rebuilds the index at the next start. A
    retention longer than a TTL index can hold (about 68 years) is the pass's alone."""
    seconds = int(after.total_seconds())
    if seconds < 0:
        raise ValueError(f"a TTL index expires after 0 seconds or more, not {seconds}")
    return IndexModel([(field, ASCENDING)], name=name or f"{field}_expiry", **{_EXPIRY: seconds})


async def ensure_expiry(collection: AsyncCollection, index: IndexModel) -> None:
    """Create the TTL index, or replace the one in its way: the same name or key with other
    options (another retention, or a plain index an earlier version built). Replaced by a
    drop and a create, not ``collMod``, which MongoDB's ``readWrite`` role (all a service's
    user has) does not grant; between the two the maintenance pass still deletes."""
    spec = index.document
    if spec[_EXPIRY] > EXPIRY_MAX_S:
        # One built for a shorter retention would now delete too early: it goes.
        await _drop_in_the_way(collection, spec, by_key=False)
        log.info(
            "retention longer than a TTL index holds: the maintenance pass alone keeps it",
            extra={"collection": collection.name, "index": spec["name"]},
        )
        return
    try:
        await collection.create_indexes([index])
        return
    except OperationFailure as exc:
        if exc.code in NO_EXPIRY_CODES:
            log.info(
                "no TTL indexes on this database: the maintenance pass alone keeps retention",
                extra={"collection": collection.name, "index": spec["name"]},
            )
            return
        if exc.code not in _INDEX_CONFLICTS:
            raise
    await _drop_in_the_way(collection, spec, by_key=True)
    await collection.create_indexes([index])
    log.info(
        "TTL index rebuilt",
        extra={"collection": collection.name, "index": spec["name"], "seconds": spec[_EXPIRY]},
    )


async def _drop_in_the_way(
    collection: AsyncCollection, spec: Mapping[str, Any], *, by_key: bool
) -> None:
    """Drop the non-unique index named as ``spec`` (and, ``by_key``, any on its key); a
    unique one is never dropped for a TTL index: that would lose a rule, so it is an error."""
    async for existing in await collection.list_indexes():
        if existing["name"] == "_id_":
            continue
        if existing["name"] != spec["name"] and not (
            by_key and dict(existing["key"]) == dict(spec["key"])
        ):
            continue
        if existing.get("unique"):
            raise RuntimeError(
                f"{collection.name}: the unique index {existing['name']} is where the TTL index "
                f"{spec['name']} goes; drop it by hand if it is no longer wanted"
            )
        try:
            await collection.drop_index(existing["name"])
        except OperationFailure as exc:
            if exc.code != _INDEX_NOT_FOUND:  # another instance starting dropped it first
                raise


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
    built is dropped. TTL indexes (:func:`expiry_index`) are non-unique too, so they are
    not asked for here either (FerretDB 1.x has none: it answers NotImplemented, which
    :func:`ensure_expiry` takes as "none here"); the maintenance pass alone deletes.
    """
    if not await only_unique_indexes_serve(collection):
        plain = [_plain(index) for index in indexes]
        if others := [i for i in plain if _EXPIRY not in i.document]:
            await collection.create_indexes(others)
        for index in plain:
            if _EXPIRY in index.document:
                await ensure_expiry(collection, index)
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
