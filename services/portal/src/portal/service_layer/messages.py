"""The services answer in English; people read Spanish. Each field error the services give is
said again in Spanish: by its kind (pydantic's error type) where that says enough, else by the
known sentences of our services, else the service's own words (never nothing)."""

from __future__ import annotations

import re

from portal.adapters.backend import ApiError

BY_TYPE = {
    "missing": "Este dato es obligatorio.",
    "value_error.missing": "Este dato es obligatorio.",
    "string_too_short": "Es demasiado corto.",
    "string_too_long": "Es demasiado largo.",
    "string_pattern_mismatch": "No tiene el formato esperado.",
    "literal_error": "Elija una de las opciones.",
    "enum": "Elija una de las opciones.",
    "bool_parsing": "Elija sí o no.",
    "int_parsing": "Escriba un número entero.",
    "float_parsing": "Escriba un número.",
    "date_from_datetime_parsing": "Escriba una fecha válida.",
    "date_parsing": "Escriba una fecha válida (aaaa-mm-dd).",
    "uuid_parsing": "No es un identificador válido.",
    "extra_forbidden": "Este dato no se acepta.",
}

#: (pattern of the service's sentence, Spanish) for sentences whose kind says too little.
SENTENCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"valid email address|not a valid email", re.I), "Escriba un correo válido."),
    (re.compile(r"passwords? (do not|don't) match|confirmation", re.I),
     "La confirmación no coincide."),
    (re.compile(r"already (taken|in use|registered)|is taken", re.I),
     "Ya está en uso: elija otro."),
    (re.compile(r"at least (\d+) characters", re.I), "Debe tener al menos {0} caracteres."),
    (re.compile(r"at most (\d+) characters", re.I), "Debe tener como máximo {0} caracteres."),
    (re.compile(r"uppercase", re.I), "Debe tener al menos una letra mayúscula."),
    (re.compile(r"lowercase", re.I), "Debe tener al menos una letra minúscula."),
    (re.compile(r"digit|number", re.I), "Revise los números de este dato."),
    (re.compile(r"accept the terms|terms", re.I), "Debe aceptar los términos y condiciones."),
]  # fmt: skip


def spanish(error_type: str, message: str) -> str:
    """The Spanish for one field error of a service."""
    for pattern, text in SENTENCES:
        if found := pattern.search(message):
            return text.format(*found.groups())
    if error_type in BY_TYPE:
        return BY_TYPE[error_type]
    return message or "Revise este dato."


def field_errors(error: ApiError, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """The service's field errors, in Spanish, named as the page's fields are (``aliases``:
    the service's name -> the form's, e.g. ``legal_representative.full_name``)."""
    aliases = aliases or {}
    out = {}
    for name, message in error.fields.items():
        out[aliases.get(name, name)] = spanish(error.types.get(name, ""), message)
    return out
