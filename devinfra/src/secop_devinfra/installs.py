"""Idempotent, cached installs: Kafka's classpath from Maven Central, FerretDB built with Go.

Each install lands in a folder named after a hash of its recipe, so a changed recipe installs
afresh and an unchanged one costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from secop_devinfra.paths import RECIPES, local_dir


class InstallError(RuntimeError):
    pass


def _recipe_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _need(tool: str, hint: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise InstallError(f"`{tool}` not found on PATH: {hint}")
    return found


def _run(argv: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise InstallError(
            f"{what} failed ({' '.join(argv)}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def kafka_classpath() -> Path:
    """The folder holding Apache Kafka's broker and its runtime dependencies (jars)."""
    recipe = RECIPES / "kafka"
    target = local_dir() / "kafka" / f"libs-{_recipe_hash(recipe)}"
    if (target / ".complete").exists():
        return target
    mvn = _need("mvn", "install Maven (Debian: apt-get install maven) and a JDK 17")
    _need("java", "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)")
    tmp = target.with_suffix(".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    _run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(recipe / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ],
        recipe,
        "resolving Kafka",
    )
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    (target / ".complete").touch()
    return target


def ferretdb_binary() -> Path:
    """FerretDB 1.24 with its SQLite backend, built from the Go module proxy."""
    recipe = RECIPES / "ferretdb"
    target = local_dir() / "bin" / f"ferretdb-{_recipe_hash(recipe)}"
    if target.exists():
        return target
    go = _need(
        "go",
        "install Go >= 1.24 (https://go.dev/dl is not reachable here: the machine image ships it)",
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    # The recipe folder may be read-only (installed package): build from a copy.
    work = local_dir() / "build" / "ferretdb"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(recipe, work)
    _run(
        [go, "build", "-trimpath", "-o", str(target) + ".partial", "."],
        work,
        "building FerretDB",
        env,
    )
    Path(str(target) + ".partial").rename(target)
    return target


def install_all() -> dict[str, Path]:
    return {"kafka": kafka_classpath(), "ferretdb": ferretdb_binary()}
