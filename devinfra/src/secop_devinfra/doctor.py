"""``./dev doctor``: every prerequisite and provisioned piece, its version, ``ok`` or ``missing``.

``./dev test`` runs the same check after provisioning and before any test, so a missing piece
stops the run at once with its name and the command that installs it, instead of a container
that fails three layers down. Pieces built on first use (the local images) are listed but never
fail the check: the test run builds them.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass

from secop_devinfra import installs, system


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    ok: bool
    detail: str
    #: what to run when it is missing
    fix: str = ""
    #: False: reported, never fails the check (built on first use)
    required: bool = True


def _prerequisites() -> list[Check]:
    python = sys.version.split()[0]
    checks = [
        Check(
            "prerequisite",
            "Python 3.11",
            sys.version_info[:2] == (3, 11),
            f"{python} ({sys.executable})",
            "install CPython 3.11 with pip (Debian 12: apt-get install python3.11 python3-pip)",
        )
    ]
    uv = os.environ.get("UV") or shutil.which("uv")
    uv_version = system.first_line([uv, "--version"]) if uv else None
    checks.append(
        Check(
            "prerequisite",
            "uv",
            uv_version is not None,
            uv_version or "not found",
            "./dev installs it with pip (python3.11 -m pip install uv)",
        )
    )
    go_line = system.first_line(["go", "version"]) if shutil.which("go") else None
    found = re.search(r"go(\d+)\.(\d+)", go_line or "")
    go_ok = bool(found) and (int(found[1]), int(found[2])) >= installs.GO_MINIMUM  # type: ignore[index]
    checks.append(
        Check("prerequisite", "Go >= 1.24", go_ok, go_line or "not found", installs.GO_HINT)
    )
    root = os.geteuid() == 0 and shutil.which("apt-get") is not None
    checks.append(
        Check(
            "prerequisite",
            "root with apt-get",
            root,
            "yes" if root else "no: system packages must already be installed",
            "run as root on Debian 12, or install the packages below by hand",
            required=False,
        )
    )
    return checks


def _packages(scopes: tuple[str, ...]) -> list[Check]:
    checks = []
    for package in system.packages(scopes):
        where = package.location()
        version = package.version_line() if where else None
        checks.append(
            Check(
                f"system package ({package.scope})",
                f"{package.label} [{package.name}]",
                where is not None and version is not None,
                f"{version} ({where})" if where else f"{package.provides} not found",
                system.install_command([package.name]),
            )
        )
    return checks


def _built() -> list[Check]:
    classpath = installs.kafka_classpath_dir()
    jars = sorted(classpath.glob("kafka_2.13-*.jar")) if classpath.is_dir() else []
    kafka_ok = (classpath / ".complete").exists() and bool(jars)
    kafka = jars[0].stem.split("-", 1)[1] if jars else ""
    ferretdb = installs.ferretdb_binary_path()
    axe = installs.axe_core_path()
    helm = installs.helm_binary_path()
    return [
        Check(
            "built",
            "Kafka's classpath",
            kafka_ok,
            f"Apache Kafka {kafka} ({classpath})" if kafka_ok else "not resolved",
            "./dev install",
        ),
        Check(
            "built",
            "FerretDB",
            ferretdb.exists(),
            f"{installs.FERRETDB_MODULE.split('@')[1]}, patched ({ferretdb})"
            if ferretdb.exists()
            else "not built",
            "./dev install",
        ),
        Check(
            "built",
            "axe-core",
            axe.exists(),
            f"{installs.AXE_CORE.split('@')[1]} ({axe})" if axe.exists() else "not installed",
            "./dev install",
        ),
        Check(
            "built",
            "Helm",
            helm.exists(),
            f"{installs.HELM_VERSION} ({helm})" if helm.exists() else "not built",
            "./dev install",
        ),
    ]


def _containers() -> list[Check]:
    """The engine as the project configures it: its network backend (DNS) and local images."""
    if shutil.which("podman") is None:
        return [Check("containers", "network DNS", False, "podman not found", "./dev provision")]
    from secop_devinfra.containers import images
    from secop_devinfra.containers.podman import podman

    info = podman("info", "--format", "{{.Host.NetworkBackend}}", check=False)
    backend = info.stdout.decode().strip() if info.returncode == 0 else "podman info failed"
    dns = shutil.which("aardvark-dns", path="/usr/lib/podman") is not None
    checks = [
        Check(
            "containers",
            "network DNS",
            backend == "netavark" and dns,
            f"backend {backend}, aardvark-dns {'found' if dns else 'missing'}",
            "./dev provision (netavark and aardvark-dns; containers.conf selects netavark)",
        )
    ]
    existing = images.existing_tags()
    for name in ("base", "kafka", "ferretdb", "smtp-sink", *images.SERVICES):
        tag = existing.get(name)
        checks.append(
            Check(
                "local image",
                f"secop-{name}",
                tag is not None,
                tag or "not built yet (the containers phase builds it)",
                "./dev containers images",
                required=False,
            )
        )
    return checks


def checks(containers: bool = True) -> list[Check]:
    """Everything ``./dev test`` needs (``containers=False``: only its first phase's)."""
    scopes = system.SCOPES if containers else system.TEST_SCOPES
    found = [*_prerequisites(), *_packages(scopes), *_built()]
    return [*found, *_containers()] if containers else found


def report(found: list[Check], out=sys.stdout) -> bool:  # type: ignore[no-untyped-def]
    """Print the table; True when nothing required is missing."""
    width = max(len(c.name) for c in found)
    group = None
    for check in found:
        if check.group != group:
            group = check.group
            print(f"\n{group}:", file=out)
        status = "ok" if check.ok else ("missing" if check.required else "not yet")
        print(f"  {check.name:{width}}  {status:8} {check.detail}", file=out)
    failed = [c for c in found if c.required and not c.ok]
    if failed:
        print("\nMissing, and how to install each:", file=out)
        for check in failed:
            print(f"  {check.name}: {check.fix}", file=out)
    out.flush()
    return not failed
