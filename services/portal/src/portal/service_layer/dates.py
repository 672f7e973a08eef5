"""Dates and times as people in Colombia read them, in Bogotá's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BOGOTA = ZoneInfo("America/Bogota")
MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def _parse(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(BOGOTA) if value.tzinfo else value.replace(tzinfo=BOGOTA)


def fecha(value: datetime | str | None) -> str:
    """``2 de diciembre de 2026``"""
    when = _parse(value)
    return f"{when.day} de {MONTHS[when.month - 1]} de {when.year}" if when else ""


def fecha_hora(value: datetime | str | None) -> str:
    """``2 de diciembre de 2026, 10:45 a. m.`` (hora de Bogotá)"""
    when = _parse(value)
    if when is None:
        return ""
    hour = when.hour % 12 or 12
    half = "a. m." if when.hour < 12 else "p. m."
    return f"{fecha(when)}, {hour}:{when.minute:02d} {half}"
