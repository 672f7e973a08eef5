"""In-memory twins of the adapters, for the service-layer unit tier (no database, no SMTP).

``FakeDeliveryStore`` keeps the aggregate store's contract (``MemoryStore``: versions, unique
ids, the events each write stored); ``FakeSmtpPool`` records what was sent and answers each
recipient as scripted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from email.message import EmailMessage

from secop_runtime.aggregates import MemoryStore

from notification.adapters.smtp import SendFailed, SmtpUnavailable
from notification.adapters.store import Deliveries, DeliveryDocument, from_document
from notification.domain.delivery import ACTIVE, Delivery, State


class FakeDeliveryStore(Deliveries):
    records: MemoryStore[DeliveryDocument]

    def __init__(self) -> None:
        super().__init__(MemoryStore(DeliveryDocument))

    def all(self) -> list[Delivery]:
        return [from_document(doc) for doc in self.records.documents.values()]

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        found = [d for d in self.all() if d.state in ACTIVE and d.next_attempt_at <= now]
        return sorted(found, key=lambda d: d.next_attempt_at)[:limit]

    async def search(
        self, *, recipient: str | None, state: State | None, since: datetime | None, limit: int
    ) -> list[Delivery]:
        found = [
            d
            for d in self.all()
            if (not recipient or d.recipient == recipient)
            and (not state or d.state == state)
            and (not since or d.queued_at >= since)
        ]
        return sorted(found, key=lambda d: d.queued_at, reverse=True)[:limit]


class FakeConnection:
    pass


class FakeSmtpPool:
    """``failures[address]``: what the relay answers that recipient, one reply per attempt
    (then it accepts); ``unavailable``: no connection can be made."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, EmailMessage]] = []
        self.failures: defaultdict[str, list[SendFailed]] = defaultdict(list)
        self.unavailable = False
        self.closed = False

    async def acquire(self) -> FakeConnection:
        if self.unavailable:
            raise SmtpUnavailable("ConnectionRefusedError: relay down")
        return FakeConnection()

    async def send(self, conn: FakeConnection, message: EmailMessage, recipient: str) -> None:
        if self.failures[recipient]:
            raise self.failures[recipient].pop(0)
        self.sent.append((recipient, message))

    async def release(self, conn: FakeConnection) -> None:
        pass

    async def close(self) -> None:
        self.closed = True

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for r, m in self.sent if r == recipient]
