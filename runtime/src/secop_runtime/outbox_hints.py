"""Which documents a successful write left with pending events, seen from the driver.

FerretDB (the development database) answers only ``{_id: ...}`` lookups without scanning a whole
collection, so a relay that looks for pending events by scanning after every write saturates it
as collections grow. This PyMongo command listener notes, for each successful insert, update or
findAndModify that sets ``_outbox_pending``, the collection and ``_id`` of the document, and
hands them to the relay, which then publishes by ``_id``. An insert's hint also carries the
document as written, so the relay need not read back what it already has (unless the server
reported a write error: then the stored document may be someone else's). Writes the listener
cannot attribute (another process, an update not by ``_id``, a crash) are still found by the
relay's periodic scan: hints make publishing fast, never correct.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from pymongo import monitoring

from secop_runtime.outbox import PENDING, PENDING_MARK


class Hint(NamedTuple):
    collection: str
    doc_id: Any
    #: The document as inserted (None for updates: only the server knows the result).
    written: dict[str, Any] | None = None


Sink = Callable[[list[Hint]], None]


def _pending(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get(PENDING) in (True, PENDING_MARK)


def _scalar_id(query: Any) -> Any:
    value = query.get("_id") if isinstance(query, dict) else None
    return None if value is None or isinstance(value, dict | list) else value


def hints_of(command: dict[str, Any]) -> Iterator[Hint]:
    """The (collection, _id) pairs a write command leaves pending (if it succeeds)."""
    # findAndModify first: its command also has an "update" member (the change itself).
    if "findAndModify" in command:
        update, doc_id = command.get("update"), _scalar_id(command.get("query"))
        if doc_id is not None and isinstance(update, dict) and _pending(update.get("$set")):
            yield Hint(command["findAndModify"], doc_id)
    elif "insert" in command:
        for doc in command.get("documents") or ():
            if _pending(doc) and "_id" in doc:
                yield Hint(command["insert"], doc["_id"], dict(doc))
    elif "update" in command:
        for change in command.get("updates") or ():
            update, doc_id = change.get("u"), _scalar_id(change.get("q"))
            if doc_id is not None and isinstance(update, dict) and _pending(update.get("$set")):
                yield Hint(command["update"], doc_id)


class OutboxHints(monitoring.CommandListener):
    """Passes a write's hints to ``sink`` once the server has acknowledged the write."""

    WRITES = frozenset({"insert", "update", "findAndModify"})

    def __init__(self) -> None:
        self.sink: Sink | None = None
        self._waiting: dict[tuple[Any, int], list[Hint]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in self.WRITES and self.sink is not None:
            hints = list(hints_of(event.command))
            if hints:
                self._waiting[(event.connection_id, event.request_id)] = hints

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        hints = self._waiting.pop((event.connection_id, event.request_id), None)
        if hints and self.sink is not None:
            reply = event.reply if isinstance(event.reply, dict) else {}
            if reply.get("writeErrors") or reply.get("writeConcernError"):
                hints = [h._replace(written=None) for h in hints]  # read what is stored
            self.sink(hints)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._waiting.pop((event.connection_id, event.request_id), None)
