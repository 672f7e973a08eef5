"""The machine's own packages: one list (``recipes/system-packages.toml``), installed and verified.

A fresh Debian 12 machine has none of podman's companions (the init binary, the DNS plugin,
iptables); earlier machines had them from hand installs, which hid the missing step. So every
system package the project uses is named in that list, ``provision()`` installs what is missing
with apt-get and verifies each by the file it provides, and a piece that cannot be installed
stops the run with its name and the command that installs it.

Standard library only: the test that proves the check on a clean Debian root runs this module
(``python3 -m secop_devinfra.system``) inside the base image, where nothing else is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

LIST = Path(__file__).parent / "recipes" / "system-packages.toml"
SCOPES = ("cluster", "browser", "containers")
#: What ``./dev test``'s first phase (local processes, real-browser tests included) needs.
TEST_SCOPES = ("cluster", "browser")
APT_INSTALL = ("apt-get", "install", "-y", "--no-install-recommends")


class ProvisionError(RuntimeError):
    """A system piece is missing and could not be installed; the message says how to fix it."""


@dataclass(frozen=True)
class Package:
    name: str
    label: str
    provides: str
    version: tuple[str, ...]
    scope: str
    why: str

    def location(self) -> str | None:
        """Where the provided file is, or None: an absolute path, or a command on PATH."""
        if self.provides.startswith("/"):
            path = Path(self.provides)
            return str(path) if path.is_file() and os.access(path, os.X_OK) else None
        return shutil.which(self.provides)

    def version_line(self) -> str | None:
        """The first line the package's version command prints, or None if it does not run."""
        return first_line(self.version)


def first_line(argv: tuple[str, ...] | list[str]) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout or result.stderr)  # Maven's colours
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def packages(scopes: tuple[str, ...] = SCOPES) -> list[Package]:
    """The list's packages needed for ``scopes``, in the list's order."""
    listed = tomllib.loads(LIST.read_text())["package"]
    unknown = {p["for"] for p in listed} - set(SCOPES)
    if unknown:
        raise ProvisionError(f"{LIST}: unknown `for` value(s) {sorted(unknown)}; use {SCOPES}")
    return [
        Package(p["name"], p["label"], p["provides"], tuple(p["version"]), p["for"], p["why"])
        for p in listed
        if p["for"] in scopes
    ]


def missing(scopes: tuple[str, ...] = SCOPES) -> list[Package]:
    return [p for p in packages(scopes) if p.location() is None]


def install_command(names: list[str]) -> str:
    prefix = "" if os.geteuid() == 0 else "sudo "
    return f"{prefix}{' '.join(APT_INSTALL)} {' '.join(names)}"


def _explain(pkgs: list[Package], cause: str) -> str:
    lines = [cause]
    lines += [f"  - {p.name} (provides {p.provides}): {p.why}" for p in pkgs]
    lines.append(f"Install them with:\n  {install_command([p.name for p in pkgs])}")
    return "\n".join(lines)


def provision(scopes: tuple[str, ...] = SCOPES) -> list[str]:
    """Install the missing packages of ``scopes`` with apt-get, then verify every one.

    Returns the names installed (none when all were present: a second run costs only the
    checks). Without root or apt-get it installs nothing and raises, naming what is missing.
    """
    absent = missing(scopes)
    if not absent:
        return []
    names = [p.name for p in absent]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ProvisionError(
            _explain(absent, "Missing system packages (provisioning needs root and apt-get):")
        )
    print(f"provisioning: apt-get install {' '.join(names)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*APT_INSTALL, *names]
    result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:  # a fresh machine's package lists may be empty or stale
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    still = missing(scopes)
    if still:
        detail = (result.stderr or result.stdout)[-2000:]
        raise ProvisionError(
            _explain(still, f"apt-get did not install every system package:\n{detail}")
        )
    return names


def main(argv: list[str] | None = None) -> int:
    """``python3 -m secop_devinfra.system [--provision] [scope ...]``: check, or provision.

    Prints each package with ``ok`` or ``missing``; exits 1 naming the install command when any
    is missing.
    """
    args = sys.argv[1:] if argv is None else argv
    scopes = tuple(a for a in args if a != "--provision") or SCOPES
    if "--provision" in args:
        try:
            provision(scopes)
        except ProvisionError as exc:
            print(exc, file=sys.stderr)
            return 1
    absent = []
    for package in packages(scopes):
        where = package.location()
        print(f"{package.name:26} {'ok' if where else 'missing':8} {where or package.provides}")
        if where is None:
            absent.append(package)
    if absent:
        print(_explain(absent, "\nMissing:"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
