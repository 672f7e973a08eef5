"""MongoDB through PyMongo's async API (Motor is deprecated and past its end of life)."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)

#: Failures that say "the database is unreachable right now", not "this request is wrong".
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)


def make_client(uri: str, app_name: str) -> AsyncMongoClient:
    # tz_aware: every datetime we store is UTC and must come back comparable with aware ones.
    return AsyncMongoClient(
        uri, tz_aware=True, appname=app_name, serverSelectionTimeoutMS=5000, connect=False
    )
