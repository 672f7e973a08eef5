"""Runtime decisions that need no I/O: what counts as a passing infrastructure failure."""

from __future__ import annotations

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure
from secop_runtime.context import accept_correlation_id
from secop_runtime.mongo import is_transient_db_error

pytestmark = pytest.mark.unit


def test_a_busy_or_unreachable_database_is_transient_but_a_refused_write_is_not() -> None:
    busy = OperationFailure("[collection.go:177] database is locked (5) (SQLITE_BUSY)", code=1)
    assert is_transient_db_error(busy)
    assert is_transient_db_error(AutoReconnect("connection reset"))
    assert not is_transient_db_error(DuplicateKeyError("E11000 duplicate key"))
    assert not is_transient_db_error(OperationFailure("unknown operator: $foo", code=2))
    assert not is_transient_db_error(ValueError("database is locked"))


def test_a_callers_correlation_id_is_kept_only_when_safe_to_log() -> None:
    assert accept_correlation_id("req-42.a:b_c") == "req-42.a:b_c"
    fresh = accept_correlation_id("bad id\n{json}")
    assert fresh != "bad id\n{json}" and len(fresh) == 32
    assert accept_correlation_id(None) != accept_correlation_id(None)
