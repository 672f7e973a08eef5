"""What every use case needs: the stores, the settings, the desk's calendar and clock.

Built once the database is connected (``Context.build``, from the composition root), or from
the fakes in ``adapters/fakes.py`` for the unit tier; use cases never see which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from secop_contracts import Event
from secop_runtime.events import new_event
from secop_runtime.sealing import seal
from secop_runtime.service import ServiceRuntime

from support.adapters.cases import Cases, CaseStore
from support.adapters.legacy import adopt_legacy_cases
from support.adapters.rate_limits import Limiter, RateLimiter
from support.config import Settings
from support.domain.business_hours import DeskCalendar

E = TypeVar("E", bound=Event)

#: One answer for an unknown number and for a requester who is not the case's: nothing tells
#: a stranger whether a case exists.
CASE_NOT_FOUND = "case not found"


def hits_kept(settings: Settings) -> timedelta:
    """How long a rate-limit hit counts: the longest window."""
    return timedelta(
        seconds=max(settings.rate_limit_ip_window_s, settings.rate_limit_email_window_s, 60)
    )


@dataclass
class Context:
    settings: Settings
    cases: Cases
    limiter: Limiter
    calendar: DeskCalendar = field(default_factory=DeskCalendar)

    @classmethod
    async def build(cls, runtime: ServiceRuntime, settings: Settings) -> Context:
        cases, limiter = CaseStore(runtime.db), RateLimiter(runtime.db)
        await cases.create_indexes()
        await limiter.ensure_indexes(hits_kept(settings))
        await adopt_legacy_cases(runtime.db)
        return cls(settings, cases, limiter)

    async def maintain(self, now: datetime) -> None:
        """Hits older than every window count for nothing: delete them (no TTL on FerretDB)."""
        await self.limiter.prune(now - hits_kept(self.settings))

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
        return new_event(cls, self.settings.service_name, payload)

    def seal(self, secret: str) -> str:
        """For notification's eyes only (the requester's access key, on its way to the email)."""
        return seal(self.settings.notification_seal_public_key, secret)
