"""Opening a case: the next number of the year, decided by the unique ``_id``.

Next = highest number of the (Bogotá) year + 1; the insert either wins that number or collides
with the instance that won it (the unique index refuses it: ``Duplicate``), and then reads
again. A number exists only once its case is stored, so numbers are gap-free; the unique index
makes them unique across instances.

A case number is guessable (they are sequential); the requester follows the case with a random
access key that only the opening email carries, and their email as a second check.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from secop_contracts.support import CaseOpened, CaseOpenedPayload, Requester
from secop_runtime.aggregates import Duplicate
from secop_runtime.errors import Invalid, Unavailable

from support.domain.access import key_hash
from support.domain.business_hours import bogota_year
from support.domain.cases import Case, Origin, System, UserType, format_case_number
from support.service_layer import limits
from support.service_layer.context import Context


@dataclass
class NewCase:
    requester: Requester
    system: System
    request_type: str
    subject: str
    user_type: UserType
    description: str
    source_key: str
    account_id: str | None = None
    nit: str | None = None
    opened_by_user: str | None = None
    origin: Origin = "web"
    documents: list[dict[str, Any]] = field(default_factory=list)
    source_event_ids: list[str] = field(default_factory=list)
    activation_linked: bool = False


async def open_requested_case(ctx: Context, new: NewCase, client: str) -> Case:
    """A case from the web form: on a subject of the catalogue, within the opening limits."""
    catalogue = ctx.settings.case_subjects
    if new.subject not in catalogue:
        raise Invalid(f"unknown subject; one of: {', '.join(catalogue)}", field="subject")
    await limits.enforce_opening_limits(ctx, client, new.requester.email)
    return await open_case(ctx, new)


async def open_case(ctx: Context, new: NewCase) -> Case:
    """Store the case with its ``CaseOpened`` event; returns the stored case (the one its
    source opened before, when the source is delivered again)."""
    now = ctx.now()
    year, due = bogota_year(now), ctx.due(new.subject, now)
    # The requester's key to the case, emailed (sealed for notification), stored only hashed.
    key = secrets.token_urlsafe(18)
    sealed_key = ctx.seal(key)
    for attempt in range(ctx.settings.case_number_attempts):
        seq = await ctx.cases.highest_seq(year) + 1
        case = _case(new, year, seq, now, due, key_hash(key))
        try:
            await ctx.cases.add(case, _opened_event(ctx, case, sealed_key))
            return case
        except Duplicate:
            pass
        existing = await ctx.cases.find_one(source_key=new.source_key)
        if existing is not None:  # the same source already opened its case (redelivery)
            return existing
        # Lost the number to another opening: spread contenders out a little, then read again.
        await asyncio.sleep(random.random() * 0.002 * min(attempt + 1, 25))
    raise Unavailable("could not allocate a case number; try again")


def _case(
    new: NewCase, year: int, seq: int, now: datetime, due: datetime, access_key_hash: str
) -> Case:
    return Case(
        id=format_case_number(year, seq),
        year=year,
        seq=seq,
        source_key=new.source_key,
        origin=new.origin,
        requester=new.requester,
        system=new.system,
        request_type=new.request_type,
        subject=new.subject,
        user_type=new.user_type,
        description=new.description,
        account_id=new.account_id,
        opened_by_user=new.opened_by_user,
        nit=new.nit,
        activation_linked=new.activation_linked,
        documents=new.documents,
        source_event_ids=new.source_event_ids,
        opened_at=now,
        updated_at=now,
        first_response_due=due,
        access_key_hash=access_key_hash,
    )


def _opened_event(ctx: Context, case: Case, sealed_key: str) -> CaseOpened:
    return ctx.event(
        CaseOpened,
        CaseOpenedPayload(
            case_number=case.number,
            requester=case.requester,
            system=case.system,
            request_type=case.request_type,
            subject=case.subject,
            user_type=case.user_type,
            description=case.description,
            account_id=case.account_id,
            opened_by_user=case.opened_by_user,
            origin=case.origin,
            opened_at=case.opened_at,
            first_response_due=case.first_response_due,
            sealed_access_key=sealed_key,
        ),
    )
