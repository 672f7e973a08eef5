"""Correlation and causation ids of the work in progress (a request or an event)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[UUID | None] = ContextVar("causation_id", default=None)

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def accept_correlation_id(candidate: str | None) -> str:
    """A caller's id when it is safe to log and propagate; a fresh one otherwise."""
    if candidate and _VALID.match(candidate):
        return candidate
    return uuid.uuid4().hex


@contextmanager
def working_on(correlation: str | None, causation: UUID | None = None) -> Iterator[None]:
    c_token = correlation_id.set(correlation or uuid.uuid4().hex)
    k_token = causation_id.set(causation)
    try:
        yield
    finally:
        correlation_id.reset(c_token)
        causation_id.reset(k_token)
