"""What every use case needs: the runtime (events, outbox relay), the stores, the calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from secop_contracts import Event
from secop_contracts.support import Requester
from secop_runtime.sealing import seal
from secop_runtime.service import ServiceRuntime

from support.adapters.cases import CaseStore
from support.adapters.rate_limits import RateLimiter
from support.config import Settings
from support.domain.business_hours import DeskCalendar

E = TypeVar("E", bound=Event)


class CaseNotFound(Exception):
    """Unknown number, or an email that is not the requester's: the same answer for both."""


@dataclass
class Desk:
    runtime: ServiceRuntime
    settings: Settings
    calendar: DeskCalendar = field(default_factory=DeskCalendar)

    @property
    def store(self) -> CaseStore:
        return CaseStore(self.runtime.db)

    @property
    def limiter(self) -> RateLimiter:
        return RateLimiter(self.runtime.db)

    def now(self) -> datetime:
        # Millisecond precision: what MongoDB stores, so a stored case reads back unchanged.
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def sla_hours(self, subject: str) -> float:
        # A subject dropped from the catalogue after its cases were opened keeps a default SLA.
        return self.settings.case_subjects.get(subject, self.settings.default_sla_hours)

    def due(self, subject: str, at: datetime) -> datetime:
        due = self.calendar.add_desk_hours(at, self.sla_hours(subject))
        return due.replace(microsecond=due.microsecond // 1000 * 1000)

    def event(self, cls: type[E], payload: Any) -> E:
        return self.runtime.event(cls, payload)

    def seal(self, secret: str) -> str:
        return seal(self.settings.notification_seal_public_key, secret)


def requester_of(doc: dict[str, Any]) -> Requester:
    return Requester(**doc["requester"])
