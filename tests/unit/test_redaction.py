"""Logs and dead-letter headers tell a database's or pydantic's refusal without the values it
repeats (an email in a duplicate key, a bulk write's documents, a refused input)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import BaseModel, ValidationError
from pymongo.errors import BulkWriteError, DuplicateKeyError
from secop_runtime.consumer import describe_error
from secop_runtime.logs import configure_logging

pytestmark = pytest.mark.unit

EMAIL = "ana.perez@example.com"


class _Form(BaseModel):
    age: int


def _duplicate() -> DuplicateKeyError:
    return DuplicateKeyError(
        f'E11000 duplicate key error collection: users dup key: {{ email: "{EMAIL}" }}',
        11000,
    )


def _bulk() -> BulkWriteError:
    return BulkWriteError(
        {"writeErrors": [{"index": 0, "code": 11000, "op": {"email": EMAIL, "name": "Ana"}}]}
    )


@pytest.mark.parametrize("error", [_duplicate(), _bulk()])
def test_a_database_refusal_is_told_by_type_and_code(error: Exception) -> None:
    told = describe_error(error)
    assert EMAIL not in told and type(error).__name__ in told


def _logged(raise_it) -> str:  # type: ignore[no-untyped-def]
    """What a service's JSON log prints for an error logged with its traceback."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging("probe", "i-1")
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        try:
            raise_it()
        except Exception:
            logging.getLogger("probe").warning("handler failed; retrying", exc_info=True)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    return stream.getvalue()


def test_a_logged_duplicate_key_keeps_its_frames_and_loses_the_email() -> None:
    def fail() -> None:
        raise _duplicate()

    line = json.loads(_logged(fail))
    assert EMAIL not in json.dumps(line)
    assert "DuplicateKeyError: code 11000" in line["exc_info"]
    assert "in fail" in line["exc_info"]  # the frames stay


def test_a_validation_error_raised_from_another_is_withheld_in_the_whole_chain() -> None:
    def fail() -> None:
        try:
            _Form.model_validate({"age": EMAIL})
        except ValidationError as exc:
            raise RuntimeError("could not record the form") from exc

    text = _logged(fail)
    assert EMAIL not in text
    assert "RuntimeError: could not record the form" in text
    assert "age: int_parsing" in text


def test_other_errors_keep_their_message() -> None:
    def fail() -> None:
        raise ValueError("the relay refused: 550 mailbox unavailable")

    assert "550 mailbox unavailable" in _logged(fail)
