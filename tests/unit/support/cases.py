"""A case as the unit tests need one: valid, open, and whatever fields a test sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from secop_contracts.support import Requester
from support.domain.cases import Case

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


def a_case(number: str = "CCE-2026-000007", **fields: Any) -> Case:
    year, seq = int(number[4:8]), int(number[9:])
    defaults: dict[str, Any] = {
        "year": year,
        "seq": seq,
        "source_key": f"web:{number}",
        "requester": Requester(full_name="Ana María Pérez", email="ana@example.co"),
        "system": "SECOP_II",
        "request_type": "solicitud",
        "subject": "Otros",
        "user_type": "comprador",
        "description": "No puedo ingresar.",
        "opened_at": NOW,
        "updated_at": NOW,
        "first_response_due": NOW + timedelta(hours=16),
    }
    return Case(id=number, **(defaults | fields))
