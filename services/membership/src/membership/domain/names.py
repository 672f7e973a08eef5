"""Names as SECOP II writes them, and the key the public search compares.

The guides ask for legal names "sin tildes, en mayúscula sostenida, sin caracteres especiales,
con un espacio antes y después de un guion y sin signos de puntuación"; storing them normalised
makes the search ("Validar si mi entidad ya existe") find an account however it was typed.
"""

from __future__ import annotations

import re
import unicodedata

_DASHES = re.compile(r"[\u2010-\u2015\u2212_]")
_JOINING_PUNCTUATION = re.compile(r"[.,;:'`\u00b4\u2018\u2019\"]")
_NOT_ALNUM_OR_HYPHEN = re.compile(r"[^A-Z0-9\- ]")
_HYPHENS = re.compile(r"\s*-+\s*")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def legal_name(raw: str) -> str:
    """Capitals, no accents, no punctuation or special characters, " - " around hyphens.

    Dots and commas are dropped without a space ("S.A.S." becomes "SAS"); any other special
    character separates words.
    """
    text = strip_accents(raw).upper()
    text = _DASHES.sub("-", text)
    text = _JOINING_PUNCTUATION.sub("", text)
    text = _NOT_ALNUM_OR_HYPHEN.sub(" ", text)
    text = _HYPHENS.sub(" - ", text)
    text = _SPACES.sub(" ", text).strip(" -")
    return text


def short_name(raw: str) -> str:
    """The short name ("Nombre abreviado") in capitals, single spaces."""
    return _SPACES.sub(" ", raw.upper()).strip()


def search_key(raw: str) -> str:
    """What name searches compare: the legal-name form without hyphens, lower case."""
    return _SPACES.sub(" ", legal_name(raw).replace("-", " ")).strip().lower()


def comparable(raw: str) -> str:
    """Loose comparison of place names: no accents, case or punctuation."""
    return _SPACES.sub(" ", re.sub(r"[^a-z0-9]", " ", strip_accents(raw).lower())).strip()
