"""Reads Colombia's DIVIPOLA municipalities from the CSV an operator configures.

Accepted headers (case, accents and spacing ignored): the municipality code (5 digits, whose
first two are the DANE department code) as ``municipality_code`` / ``codigo municipio`` /
``cod_mpio``, and its name as ``municipality`` / ``municipality_name`` / ``nombre municipio``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from membership.domain.location import Municipalities
from membership.domain.names import comparable

_CODE = {"municipality code", "codigo municipio", "cod mpio", "codigo mpio", "divipola"}
_NAME = {"municipality", "municipality name", "nombre municipio", "municipio", "nom mpio"}


def load(path: str) -> Municipalities:
    table = Municipalities()
    if not path:
        return table
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        headers = {comparable(h): h for h in reader.fieldnames or []}
        code_col = next((headers[h] for h in headers if h in _CODE), None)
        name_col = next((headers[h] for h in headers if h in _NAME), None)
        if code_col is None or name_col is None:
            raise ValueError(f"{path}: needs a municipality code column and a name column")
        for row in reader:
            if row.get(code_col, "").strip():
                table.add(row[code_col], row[name_col])
    return table
