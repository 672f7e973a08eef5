"""Acting on a case: read it, let the domain decide, claim the next history version.

Two actions on one case at once both read version n; only one inserts history entry n + 1 (a
unique ``_id``), the other reads again and decides on the new state (e.g. "already resolved").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from secop_contracts import Event

from support.adapters.cases import to_case
from support.domain.cases import Case, CaseRuleError, Change
from support.service_layer.desk import CaseNotFound, Desk

ATTEMPTS = 20

#: Given the case (rules view) and its stored document: the change and its events, or None.
Decide = Callable[[Case, dict[str, Any]], tuple[Change, Sequence[Event]] | None]


async def load(desk: Desk, number: str) -> dict[str, Any]:
    """The case, with any history entry a crash left un-copied applied first."""
    store = desk.store
    doc = await store.get(number)
    if doc is None:
        raise CaseNotFound(number)
    if await store.repair(to_case(doc)):
        return await store.get(number) or doc
    return doc


async def act(desk: Desk, number: str, decide: Decide) -> dict[str, Any]:
    """Apply one action; returns the case as it is after it."""
    store = desk.store
    for _ in range(ATTEMPTS):
        doc = await store.get(number)
        if doc is None:
            raise CaseNotFound(number)
        case = to_case(doc)
        outcome = decide(case, doc)
        if outcome is None:
            return doc
        change, events = outcome
        if await store.append(case, change, *events):
            return {**doc, **change.state, "version": case.version + 1}
        await store.repair(case)
    raise CaseRuleError(f"case {number} is changing too fast; try again")
