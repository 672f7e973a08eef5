"""Errors told without the values they repeat, for logs and dead-letter headers.

pydantic's text repeats the input it refused, and a database's refusal repeats the documents and
keys it refused (``E11000 duplicate key ... dup key: { email: "..." }``, a bulk write's every
failed document): emails, names, document numbers. Such errors are told by type, field and kind,
or code; every other error keeps its message (ours name no personal value).
"""

from __future__ import annotations

import traceback
from types import TracebackType

from pydantic import ValidationError
from pymongo.errors import OperationFailure


def describe_error(error: BaseException) -> str:
    """One line naming ``error`` without repeating the values it carries."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        where = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['type']}" for e in problems]
        return f"ValidationError: {len(where)} error(s): {'; '.join(where)}"
    if isinstance(error, OperationFailure):
        return (
            f"{type(error).__name__}: code {error.code} (text withheld: it repeats stored values)"
        )
    return f"{type(error).__name__}: {error}"


def withholds(error: BaseException | None) -> bool:
    """Whether ``error``, or one it was raised from or during, must not be printed as is."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ValidationError | OperationFailure):
            return True
        error = error.__cause__ or error.__context__
    return False


def safe_traceback(error: BaseException) -> str:
    """A traceback as Python prints it (chained errors first), each error's line from
    ``describe_error``: every frame stays, no refused value does."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    parts = []
    for item in reversed(chain):
        tb: TracebackType | None = item.__traceback__
        frames = "".join(traceback.format_tb(tb)) if tb is not None else ""
        parts.append(f"Traceback (most recent call last):\n{frames}{describe_error(item)}")
    return "\n\nThe above exception led to:\n\n".join(parts)
