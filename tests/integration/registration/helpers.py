"""Shared steps of registration's integration tests: sign up, read sealed tokens, log in."""

from __future__ import annotations

from typing import Any

from secop_devinfra.keys import DevKeys
from secop_runtime.sealing import open_sealed

from tests.support.kafka import json_values, read_topic
from tests.support.services import RunningService

PASSWORD = "Vq7#kmz!ruta"
NEW_PASSWORD = "Zp4$nuevaClave"


def sign_up_form(uid: str, n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid step-1 form, unique per test (``uid``) and per ``n``."""
    return {
        "full_name": "Ana María Pérez",
        "country": "CO",
        "document_type": "CC",
        "document_number": f"{abs(hash(uid)) % 10**8}{n}",
        "email": f"{uid}.{n}@example.com",
        "username": f"{uid}.u{n}",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
        "security_question": "¿Nombre de su primera mascota?",
        "security_answer": "Firulais",
        "mobile_phone": "300 123 4567",
        "time_zone": "(UTC-05:00) Bogotá, Lima, Quito",
        "account_name": "ALCALDIA DE PRUEBA",
        "accept_terms": True,
        **overrides,
    }


async def events_on(
    svc: RunningService, event_type: str, *, at_least: int = 1, key: str | None = None
) -> list[dict[str, Any]]:
    """Events of one type published by the test's service (optionally for one user).

    Read as a consumer reads them: delivery is at least once, so a republished copy (same
    ``event_id``) counts once.
    """
    records = await read_topic(
        svc.settings.kafka_bootstrap_servers, svc.settings.topic(event_type), at_least=at_least
    )
    unique = {v["event_id"]: v for v in json_values(records)}
    return [v for v in unique.values() if key is None or v["payload"].get("user_id") == key]


async def wait_events(
    svc: RunningService, event_type: str, key: str, count: int
) -> list[dict[str, Any]]:
    """Wait until ``count`` events of a type for user ``key`` are on the topic."""
    at_least = count
    while True:
        found = await events_on(svc, event_type, at_least=at_least, key=key)
        if len(found) >= count:
            return found
        at_least += 1


def opened(keys: DevKeys, event: dict[str, Any], field: str) -> str:
    return open_sealed(keys.seal_private, event["payload"][field])


async def sign_up(svc: RunningService, form: dict[str, Any]) -> str:
    response = await svc.client.post("/users", json=form)
    assert response.status_code == 201, response.text
    return response.json()["user_id"]


async def confirmation_token(svc: RunningService, keys: DevKeys, user_id: str) -> str:
    [event] = await wait_events(svc, "UserRegistered", user_id, 1)
    return opened(keys, event, "sealed_confirmation_token")


async def confirmed_user(svc: RunningService, keys: DevKeys, form: dict[str, Any]) -> str:
    user_id = await sign_up(svc, form)
    token = await confirmation_token(svc, keys, user_id)
    response = await svc.client.post("/users/confirmation", json={"token": token})
    assert response.status_code == 200, response.text
    return user_id


async def log_in(svc: RunningService, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await svc.client.post("/sessions", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
