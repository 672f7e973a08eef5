"""MongoDB through PyMongo's async API (Motor is deprecated and past its end of life)."""

from __future__ import annotations

from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

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
        event_listeners=listeners or [],
    )
