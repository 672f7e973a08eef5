"""Steps the registration unit tests share: a sign-up form, signing up, confirming."""

from __future__ import annotations

from typing import Any

from registration.service_layer import confirmation, signup
from registration.service_layer.context import Client

from tests.unit.registration.conftest import Registration

PASSWORD = "Vq7#kmz!ruta"
NEW_PASSWORD = "Zp4$nuevaClave"
CLIENT = Client(ip="203.0.113.5", user_agent="pytest")


def form(n: int = 0, **overrides: Any) -> signup.SignUp:
    """A sign-up form as the HTTP model leaves it (normalised), unique per ``n``."""
    fields = {
        "full_name": "Ana María Pérez",
        "country": "CO",
        "document_type": "CC",
        "document_number": f"5207{n:04d}",
        "email": f"ana.{n}@example.com",
        "username": f"ana.{n}",
        "password": PASSWORD,
        "security_question": "¿Nombre de su primera mascota?",
        "security_answer": "Firulais",
        "mobile_phone": "+573001234567",
        "time_zone": "America/Bogota",
        "account_name": "ALCALDIA DE PRUEBA",
    }
    return signup.SignUp(**(fields | overrides))


async def sign_up(reg: Registration, n: int = 0, **overrides: Any) -> str:
    answer = await signup.register_user(reg.ctx, form(n, **overrides), CLIENT)
    return answer["user_id"]


def link_of(reg: Registration, user_id: str, event_type: str = "UserRegistered") -> str:
    """The newest link token sent to ``user_id`` in events of ``event_type``."""
    field = {
        "UserRegistered": "sealed_confirmation_token",
        "ConfirmationRequested": "sealed_confirmation_token",
        "PasswordResetRequested": "sealed_reset_token",
        "AccountChangeNotice": "sealed_revert_token",
    }[event_type]
    [*_, event] = [e for e in reg.events(event_type) if str(e.payload.user_id) == user_id]
    return reg.opened(event, field)


async def confirmed_user(reg: Registration, n: int = 0, **overrides: Any) -> str:
    user_id = await sign_up(reg, n, **overrides)
    assert await confirmation.confirm(reg.ctx, link_of(reg, user_id)) == "active"
    return user_id
