"""Helpers for the support service's integration tests."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import pytest
from secop_devinfra.keys import DevKeys

from tests.support.kafka import json_values, read_topic
from tests.support.services import RunningService
from tests.support.tokens import bearer

T = TypeVar("T")

ACTIVATION = "Gestión de registro y configuración de Entidades Estatales"
MIXED = "Habilitación de perfil mixto"
RECOVERY = "Recuperación de usuario"


def case_body(uid: str, **overrides: Any) -> dict[str, Any]:
    """A valid "Crear caso" form; ``email`` and other requester fields via ``requester=``."""
    requester = {
        "full_name": "Ana María Pérez",
        "document_number": "1020304050",
        "entity_name": "ALCALDIA DE VILLA DE LEYVA",
        "department": "Boyacá",
        "municipality": "Villa de Leyva",
        "email": f"ana.{uid}@example.co",
        "phone": "6017654321",
        "mobile": "+57 3001234567",
        **overrides.pop("requester", {}),
    }
    return {
        "requester": requester,
        "system": "SECOP_II",
        "request_type": "solicitud",
        "subject": "Otros",
        "user_type": "comprador",
        "description": "No puedo ingresar a la plataforma.",
        **overrides,
    }


@pytest.fixture
def agent(dev_keys: DevKeys) -> dict[str, str]:
    """An agent's Authorization header (a fresh agent each test)."""
    return bearer(dev_keys, user_id=uuid.uuid4(), username="mesa.agente", roles=("support_agent",))


async def case_key(svc: RunningService, keys: DevKeys, number: str) -> dict[str, str]:
    """The ``X-Case-Key`` header of a case, as its opening email gives it to the requester."""
    from secop_runtime.sealing import open_sealed

    topic = svc.settings.topic("CaseOpened")
    at_least = 1
    while True:
        found = [
            e
            for e in json_values(
                await read_topic(svc.settings.kafka_bootstrap_servers, topic, at_least=at_least)
            )
            if e["payload"]["case_number"] == number
        ]
        if found:
            return {
                "X-Case-Key": open_sealed(
                    keys.seal_private, found[0]["payload"]["sealed_access_key"]
                )
            }
        at_least += 1
