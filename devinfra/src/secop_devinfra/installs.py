"""Idempotent, cached installs: Kafka's classpath from Maven Central, FerretDB built with Go,
axe-core from npm (the browser tests' accessibility check), Helm built with Go (the chart's
offline checks).

Each install lands in a folder named after a hash of its recipe, so a changed recipe installs
afresh and an unchanged one costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from secop_devinfra.paths import RECIPES, local_dir

FERRETDB_MODULE = "github.com/FerretDB/FerretDB@v1.24.2"
#: Pinned: a new axe-core release adds rules, and a rule added must not fail a test by surprise.
AXE_CORE = "axe-core@4.14.1"
#: Helm 3 from the Go module proxy: ``helm lint`` and ``helm template`` of deploy/helm in CI.
HELM_VERSION = "v3.22.0"
HELM_MODULE = f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}"


#: Go is a prerequisite the project does not install (Debian 12's golang is 1.19).
GO_MINIMUM = (1, 24)
GO_HINT = "install Go >= 1.24 (go.dev/dl; Debian 12's golang package is too old)"


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


def kafka_classpath_dir() -> Path:
    """Where the current recipe's Kafka classpath lives (``.complete`` inside once resolved)."""
    return local_dir() / "kafka" / f"libs-{_recipe_hash(RECIPES / 'kafka')}"


def ferretdb_binary_path() -> Path:
    """Where the current recipe's FerretDB binary lives once built."""
    return local_dir() / "bin" / f"ferretdb-{_recipe_hash(RECIPES / 'ferretdb')}"


def axe_core_path() -> Path:
    """Where the pinned axe-core's ``axe.min.js`` lives once installed."""
    version = AXE_CORE.split("@")[1]
    return local_dir() / "npm" / f"axe-core-{version}" / "node_modules" / "axe-core" / "axe.min.js"


def helm_binary_path() -> Path:
    """Where the pinned Helm's binary lives once built."""
    return local_dir() / "bin" / f"helm-{HELM_VERSION}"


def kafka_classpath() -> Path:
    """The folder holding Apache Kafka's broker and its runtime dependencies (jars)."""
    recipe = RECIPES / "kafka"
    target = kafka_classpath_dir()
    if (target / ".complete").exists():
        return target
    mvn = _need("mvn", "provisioning installs it: ./dev provision")
    _need("java", "provisioning installs it: ./dev provision")
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
    """FerretDB 1.24 with its SQLite backend, built from the Go module proxy (and patched)."""
    recipe = RECIPES / "ferretdb"
    target = ferretdb_binary_path()
    if target.exists():
        return target
    go = _need("go", GO_HINT)
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    # The recipe folder may be read-only (installed package): build from a copy. Two test
    # sessions starting at once on a fresh machine may both build: each in its own folder and
    # file, the last one's replacing the first's whole (``os.replace`` is atomic).
    work = local_dir() / "build" / f"ferretdb-{os.getpid()}"
    partial = Path(f"{target}.{os.getpid()}.partial")
    _rmtree_writable(work)
    shutil.copytree(recipe, work)
    try:
        _patch_ferretdb(go, work, env, json.loads((recipe / "patches.json").read_text()))
        _run([go, "build", "-trimpath", "-o", str(partial), "."], work, "building FerretDB", env)
        os.replace(partial, target)
    finally:
        _rmtree_writable(work)
    return target


def _patch_ferretdb(
    go: str, work: Path, env: dict[str, str], patches: list[dict[str, str]]
) -> None:
    """Build against a patched copy of the FerretDB module (``patches.json`` says why).

    Each patch replaces one exact text; a text not found fails the build, so a version bump
    cannot silently drop a fix.
    """
    listing = subprocess.run(
        [go, "mod", "download", "-json", FERRETDB_MODULE],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if listing.returncode != 0:
        raise InstallError(f"downloading {FERRETDB_MODULE} failed:\n{listing.stderr[-3000:]}")
    source = Path(json.loads(listing.stdout)["Dir"])
    copy = work / "third_party" / "ferretdb"
    shutil.copytree(source, copy)
    for path in [copy, *copy.rglob("*")]:  # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    for patch in patches:
        file = copy / patch["file"]
        text = file.read_text()
        if text.count(patch["old"]) != 1:
            raise InstallError(
                f"FerretDB patch no longer applies to {patch['file']}: {patch['old']}"
            )
        file.write_text(text.replace(patch["old"], patch["new"]))
    _run(
        [go, "mod", "edit", f"-replace={FERRETDB_MODULE}=./third_party/ferretdb"],
        work,
        "pointing the build at the patched FerretDB",
        env,
    )


def _rmtree_writable(path: Path) -> None:
    if path.exists():
        for p in [path, *path.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | 0o200)
        shutil.rmtree(path)


def axe_core() -> Path:
    """axe-core from npm (pinned), for the browser tests to inject into each page.

    Two test sessions starting at once may both install: each into its own folder, and the
    first to finish renames it into place whole (a rename onto an existing folder fails, and
    the loser uses the winner's).
    """
    target = axe_core_path()
    prefix = target.parents[2]
    if target.is_file():
        return target
    npm = _need("npm", "provisioning installs it: ./dev provision")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    partial = prefix.with_name(f"{prefix.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        _run(
            [npm, "install", "--prefix", str(partial), AXE_CORE, "--no-audit", "--no-fund"],
            partial,
            "installing axe-core",
        )
        installed = json.loads((partial / "node_modules" / "axe-core" / "package.json").read_text())
        if installed.get("version") != AXE_CORE.split("@")[1]:
            raise InstallError(f"npm installed axe-core {installed.get('version')}, not {AXE_CORE}")
        try:
            partial.rename(prefix)
        except OSError:
            if not target.is_file():  # not another session's install: a real failure
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def helm_binary() -> Path:
    """Helm 3 built with ``go install`` from the Go module proxy (pinned), for the chart's
    lint and render checks.

    Go's module cache and build cache live in the local folder, as every install does; two
    sessions building at once each install into a folder of their own and the last one's binary
    replaces the first's whole (``os.replace`` is atomic).
    """
    target = helm_binary_path()
    if target.exists():
        return target
    go = _need("go", GO_HINT)
    gopath = local_dir() / "go"
    gobin = local_dir() / "build" / f"helm-{os.getpid()}"
    env = {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOFLAGS": "-trimpath -buildvcs=false",
        "GOPATH": str(gopath),
        "GOCACHE": str(gopath / "cache"),
        "GOBIN": str(gobin),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(gobin, ignore_errors=True)
    gobin.mkdir(parents=True)
    try:
        # Helm's own build stamps its version so; without it `helm version` says "v3.22".
        stamp = f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}"
        _run([go, "install", "-ldflags", stamp, HELM_MODULE], gobin, "building Helm", env)
        os.replace(gobin / "helm", target)
    finally:
        shutil.rmtree(gobin, ignore_errors=True)
    return target


def install_all(browser: bool = False, helm: bool = False) -> dict[str, Path]:
    """Kafka and FerretDB (every command); ``browser``: axe-core too; ``helm``: Helm too (both
    for ``./dev test``)."""
    found = {"kafka": kafka_classpath(), "ferretdb": ferretdb_binary()}
    if browser:
        found["axe-core"] = axe_core()
    if helm:
        found["helm"] = helm_binary()
    return found
