"""Opening a case: the next number of the year, decided by the unique ``_id``.

Next = highest number of the (Bogotá) year + 1; the insert either wins that number or collides
with the instance that won it, and then reads again. A number exists only once its case is
stored, so numbers are gap-free; the unique index makes them unique across instances.

A case number is guessable (they are sequential); the requester follows the case with a random
access key that only the opening email carries, and their email as a second check.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from secop_contracts.support import CaseOpened, CaseOpenedPayload

from support.domain.business_hours import bogota_year
from support.domain.cases import OPEN, format_case_number
from support.service_layer.desk import Desk


@dataclass
class NewCase:
    requester: dict[str, Any]
    system: str
    request_type: str
    subject: str
    user_type: str
    description: str
    source_key: str
    account_id: str | None = None
    nit: str | None = None
    origin: str = "web"
    documents: list[dict[str, Any]] = field(default_factory=list)
    source_event_ids: list[str] = field(default_factory=list)
    activation_linked: bool = False


class NumberingBusy(Exception):
    """Too many concurrent openings collided; the caller may retry."""


async def open_case(desk: Desk, new: NewCase) -> dict[str, Any]:
    """Store the case with its ``CaseOpened`` event; returns the stored document."""
    store = desk.store
    now = desk.now()
    year = bogota_year(now)
    due = desk.due(new.subject, now)
    # The requester's key to the case, emailed (sealed for notification), stored only hashed.
    key = secrets.token_urlsafe(18)
    sealed_key = desk.seal(key)
    for attempt in range(desk.settings.case_number_attempts):
        seq = await store.highest_seq(year) + 1
        doc = _document(new, format_case_number(year, seq), year, seq, now, due)
        doc["access_key_hash"] = key_hash(key)
        if await store.insert(doc, _opened_event(desk, doc, sealed_key)):
            return doc
        existing = await store.by_source_key(new.source_key)
        if existing is not None:  # the same source already opened its case (redelivery)
            return existing
        # Lost the number to another opening: spread contenders out a little, then read again.
        await asyncio.sleep(random.random() * 0.002 * min(attempt + 1, 25))
    raise NumberingBusy("could not allocate a case number; try again")


def _document(new: NewCase, number: str, year: int, seq: int, now: Any, due: Any) -> dict[str, Any]:
    return {
        "_id": number,
        "year": year,
        "seq": seq,
        "source_key": new.source_key,
        "origin": new.origin,
        "requester": new.requester,
        "system": new.system,
        "request_type": new.request_type,
        "subject": new.subject,
        "user_type": new.user_type,
        "description": new.description,
        "account_id": new.account_id,
        "nit": new.nit,
        "activation_linked": new.activation_linked,
        "documents": new.documents,
        "source_event_ids": new.source_event_ids,
        "status": OPEN,
        "assignee_id": None,
        "opened_at": now,
        "updated_at": now,
        "first_response_due": due,
        "first_response_at": None,
        "awaiting_response": True,
        "resolved_at": None,
        "resolution": None,
        "decision": None,
        "version": 0,
    }


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _opened_event(desk: Desk, doc: dict[str, Any], sealed_key: str) -> CaseOpened:
    return desk.event(
        CaseOpened,
        CaseOpenedPayload(
            case_number=doc["_id"],
            requester=doc["requester"],
            system=doc["system"],
            request_type=doc["request_type"],
            subject=doc["subject"],
            user_type=doc["user_type"],
            description=doc["description"],
            account_id=doc["account_id"],
            origin=doc["origin"],
            opened_at=doc["opened_at"],
            first_response_due=doc["first_response_due"],
            sealed_access_key=sealed_key,
        ),
    )
