"""Refusals explain themselves without handing secrets back (responses end up in logs too)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration

SECRETS = ("Tr0ub4dor&3-Secret", "Different-Secret-9!", "MiRespuestaSecreta")


async def test_a_refused_sign_up_names_the_fields_but_never_echoes_what_was_sent(
    start_service: Any, uid: str
) -> None:
    registration = await start_service("registration")
    body = {
        "full_name": "Ana",
        "document_type": "CC",
        "document_number": "1020304050",
        "email": f"{uid}@example.co",
        "username": uid,
        "password": "Tr0ub4dor&3-Secret",
        "password_confirmation": "Different-Secret-9!",
        "security_question": "Mascota",
        "security_answer": "MiRespuestaSecreta",
        "mobile_phone": "+573001234567",
        "account_name": "ALCALDIA",
        "accept_terms": False,
    }
    # A missing field fails FastAPI's own validation, whose error carries the whole body.
    incomplete = {k: v for k, v in body.items() if k != "email"}
    for attempt in (body, incomplete):
        response = await registration.client.post("/users", json=attempt)
        assert response.status_code == 422
        assert all(s not in response.text for s in SECRETS), response.text
    assert response.json()["detail"][0]["loc"] == ["body", "email"]
