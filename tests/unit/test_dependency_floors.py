"""Installing outside the lock must not admit a version with a known advisory: every
pyproject.toml that names one of these packages floors it at the fixed version or later."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

#: package -> (first fixed version, the advisory it answers)
FLOORS: dict[str, tuple[str, str]] = {
    "pyjwt": ("2.10.1", "CVE-2024-53861: partial issuer match accepted"),
    "starlette": ("0.49.1", "CVE-2025-54121, CVE-2025-62727: multipart and Range DoS"),
    "h11": ("0.16", "CVE-2025-43859: chunked-encoding request smuggling"),
    "python-multipart": ("0.0.20", "CVE-2024-53981: boundary parsing DoS"),
    "jinja2": ("3.1.6", "CVE-2025-27516: sandbox escape through |attr"),
    "cryptography": ("44.0.1", "CVE-2024-12797: vulnerable OpenSSL in the wheels"),
    "idna": ("3.7", "CVE-2024-3651: quadratic decode"),
    "requests": ("2.32.4", "CVE-2024-47081: .netrc credentials leak"),
    "urllib3": ("2.5", "CVE-2025-50181, CVE-2025-50182: redirects not disabled"),
}
#: Where each must be declared (the packages that depend on it directly).
DECLARED_IN = {
    "pyjwt": "runtime",
    "starlette": "runtime",
    "h11": "runtime",
    "idna": "runtime",
    "python-multipart": "services/membership",
    "jinja2": "services/notification",
    "cryptography": "runtime",
    "requests": "testcontainers-secop",
    "urllib3": "testcontainers-secop",
}


def _requirements() -> dict[str, list[Requirement]]:
    found: dict[str, list[Requirement]] = {}
    for path in sorted(ROOT.glob("**/pyproject.toml")):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        project = tomllib.loads(path.read_text()).get("project", {})
        folder = str(path.parent.relative_to(ROOT))
        for line in project.get("dependencies", []):
            found.setdefault(folder, []).append(Requirement(line))
    return found


def _floor(req: Requirement) -> Version | None:
    lows = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=", ">")]
    return max(lows) if lows else None


def test_every_security_relevant_dependency_is_floored_at_its_fixed_version() -> None:
    declared = _requirements()
    for package, folder in DECLARED_IN.items():
        names = {r.name.lower() for r in declared.get(folder, [])}
        assert package in names, f"{folder}/pyproject.toml should floor {package}"
    for folder, reqs in declared.items():
        for req in reqs:
            if req.name.lower() not in FLOORS:
                continue
            fixed, advisory = FLOORS[req.name.lower()]
            floor = _floor(req)
            assert floor is not None and floor >= Version(fixed), (
                f"{folder}: {req} admits versions before {fixed} ({advisory})"
            )
