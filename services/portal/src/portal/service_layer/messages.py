"""The services answer in English; people read Spanish. Each field error the services give is
said again in Spanish: by its kind (pydantic's error type) where that says enough, else by the
known sentences of our services, else the service's own words (never nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable

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
    # registration's own sentences (users pages), before the general ones below
    (re.compile(r"the two passwords differ", re.I), "Las dos contraseñas no coinciden."),
    (re.compile(r"username must be 3 to 64", re.I),
     "De 3 a 64 caracteres: letras sin tildes, números, punto, guion o guion bajo."),
    (re.compile(r"password must contain letters, numbers and special", re.I),
     "Debe combinar letras, números y caracteres especiales (por ejemplo ! # $ -)."),
    (re.compile(r"must not contain your username", re.I), "No puede contener su usuario."),
    (re.compile(r"must not contain your email", re.I), "No puede contener su correo."),
    (re.compile(r"password is too common", re.I),
     "Es una contraseña muy común: elija una más difícil de adivinar."),
    (re.compile(r"invalid phone number", re.I),
     "Escriba un número de celular válido, por ejemplo +57 300 123 4567."),
    (re.compile(r"unknown time zone", re.I), "Elija una zona horaria de la lista."),
    (re.compile(r"document type must be", re.I), "Elija un tipo de documento de la lista."),
    (re.compile(r"document number must be", re.I),
     "De 3 a 20 letras, números o guiones, sin puntos ni espacios."),
    (re.compile(r"this username is already registered", re.I),
     "Ese usuario ya existe: elija otro."),
    (re.compile(r"this (document number|email) is already registered", re.I),
     "Ya pertenece a otro usuario registrado."),
    (re.compile(r"current password is not correct", re.I), "La contraseña actual no es correcta."),
    (re.compile(r"asks for your current password", re.I),
     "Para este cambio escriba su contraseña actual."),
    (re.compile(r"give exactly one of", re.I), "Escriba solo uno de los datos."),
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


Sentences = list[tuple[re.Pattern[str], str]]


def spanish(error_type: str, message: str, first: Sentences | None = None) -> str:
    """The Spanish for one field error of a service (``first``: an area's own sentences, tried
    before the shared ones, whose general words would say less)."""
    for table in (first or [], SENTENCES):
        for pattern, text in table:
            if found := pattern.search(message):
                return text.format(*found.groups())
    if error_type in BY_TYPE:
        return BY_TYPE[error_type]
    return message or "Revise este dato."


def field_errors(
    error: ApiError,
    aliases: dict[str, str] | None = None,
    translate: Callable[[str, str, str], str] | None = None,
) -> dict[str, str]:
    """The service's field errors, in Spanish, named as the page's fields are (``aliases``:
    the service's name -> the form's; several may share one, whose first error is shown).
    ``translate(field, error_type, message)`` replaces ``spanish`` for an area's own words."""
    aliases = aliases or {}
    out: dict[str, str] = {}
    for name, message in error.fields.items():
        kind = error.types.get(name, "")
        text = translate(name, kind, message) if translate else spanish(kind, message)
        out.setdefault(aliases.get(name, name), text)
    return out
