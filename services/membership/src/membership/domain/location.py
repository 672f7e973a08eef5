"""Where an account is: country, department (ISO 3166-2) and municipality (DIVIPOLA).

Departments come from pycountry's ISO 3166-2 data; municipalities from Colombia's DIVIPOLA list
when an operator configures the file (``Municipalities``), otherwise any non-empty name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pycountry

from membership.domain.names import comparable

#: DANE department code (the first two digits of a DIVIPOLA municipality code) to ISO 3166-2.
DANE_TO_ISO: dict[str, str] = {
    "05": "CO-ANT",
    "08": "CO-ATL",
    "11": "CO-DC",
    "13": "CO-BOL",
    "15": "CO-BOY",
    "17": "CO-CAL",
    "18": "CO-CAQ",
    "19": "CO-CAU",
    "20": "CO-CES",
    "23": "CO-COR",
    "25": "CO-CUN",
    "27": "CO-CHO",
    "41": "CO-HUI",
    "44": "CO-LAG",
    "47": "CO-MAG",
    "50": "CO-MET",
    "52": "CO-NAR",
    "54": "CO-NSA",
    "63": "CO-QUI",
    "66": "CO-RIS",
    "68": "CO-SAN",
    "70": "CO-SUC",
    "73": "CO-TOL",
    "76": "CO-VAC",
    "81": "CO-ARA",
    "85": "CO-CAS",
    "86": "CO-PUT",
    "88": "CO-SAP",
    "91": "CO-AMA",
    "94": "CO-GUA",
    "95": "CO-GUV",
    "97": "CO-VAU",
    "99": "CO-VID",
}

#: Names people commonly type that differ from ISO's.
_ALIASES: dict[str, str] = {
    "bogota": "CO-DC",
    "bogota d c": "CO-DC",
    "bogota dc": "CO-DC",
    "distrito capital": "CO-DC",
    "san andres": "CO-SAP",
    "archipielago de san andres providencia y santa catalina": "CO-SAP",
    "guajira": "CO-LAG",
    "valle": "CO-VAC",
}


class LocationError(ValueError):
    """A location the reference data does not know; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def country_code(raw: str) -> str:
    country = pycountry.countries.get(alpha_2=raw.strip().upper())
    if country is None:
        raise LocationError("country", "unknown country: use its ISO 3166-1 code, e.g. CO")
    return country.alpha_2


def department_code(country: str, raw: str) -> str:
    """An ISO 3166-2 code ("CO-ANT") from the code itself or the department's name."""
    subdivisions = list(pycountry.subdivisions.get(country_code=country) or [])
    if not subdivisions:
        return raw.strip()  # a country without ISO subdivisions: keep what was typed
    wanted = raw.strip().upper()
    for sub in subdivisions:
        if sub.code == wanted or sub.code == f"{country}-{wanted}":
            return sub.code
    key = comparable(raw)
    if country == "CO" and key in _ALIASES:
        return _ALIASES[key]
    for sub in subdivisions:
        if comparable(sub.name) == key:
            return sub.code
    raise LocationError(
        "department",
        f"unknown department of {country}: give its ISO 3166-2 code (e.g. CO-ANT) or its name",
    )


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    department: str


@dataclass
class Municipalities:
    """Colombia's DIVIPOLA list, by department: empty means "not configured, accept any"."""

    by_department: dict[str, list[Municipality]] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.by_department)

    def add(self, code: str, name: str) -> None:
        code = code.strip().zfill(5)
        department = DANE_TO_ISO.get(code[:2])
        if department is None:
            raise ValueError(f"municipality code {code} has no known department")
        entry = Municipality(code, name.strip(), department)
        self.by_department.setdefault(department, []).append(entry)

    def resolve(self, department: str, raw: str) -> Municipality | None:
        """The municipality named (or coded) ``raw`` in ``department``; None when unknown."""
        key, code = comparable(raw), raw.strip()
        for entry in self.by_department.get(department, []):
            if entry.code == code or comparable(entry.name) == key:
                return entry
        return None


def municipality(
    country: str, department: str, raw: str, table: Municipalities
) -> tuple[str, str | None]:
    """The municipality's name (canonical when DIVIPOLA is configured) and its code."""
    if not raw.strip():
        raise LocationError("municipality", "the municipality is required")
    if country != "CO" or not table.configured:
        return raw.strip(), None
    found = table.resolve(department, raw)
    if found is None:
        raise LocationError(
            "municipality", f"no municipality '{raw.strip()}' in {department} (DIVIPOLA)"
        )
    return found.name, found.code
