"""``python -m secop_devinfra <command>``: what the README's ``./dev`` commands run.

- ``provision``: install the system packages of ``recipes/system-packages.toml`` that are
  missing (apt-get, as root) and verify each.
- ``doctor``: every prerequisite and provisioned piece with its version, ``ok`` or ``missing``;
  exits 1 when something ``./dev test`` needs is missing.
- ``up``: install what is missing, start Kafka, FerretDB, the SMTP sink, the four services,
  the projector and the portal, print their URLs (the portal's first); Ctrl-C stops everything.
- ``infra``: only the infrastructure, printing the variables that point tests and services at it.
- ``install``: fetch and build Kafka's classpath and FerretDB, axe-core for the browser
  tests and Helm for the chart's checks (cached).
- ``keys``: print fresh development keys as ``.env`` lines (for compose).
- ``test [pytest args]``: install, then run the test suite (it starts what it needs itself).
- ``containers provision|images|env|down``: podman, the local images, and the variables that
  point testcontainers at them (see ``secop_devinfra.containers``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from secop_devinfra import doctor, installs, system
from secop_devinfra.cluster import run_cluster
from secop_devinfra.infra import LocalInfra, Ports
from secop_devinfra.keys import generate, load_or_create
from secop_devinfra.paths import local_dir, repo_root


def _dotenv_line(name: str, value: str) -> str:
    return f"{name}='{value}'"


#: ``./dev test`` with no arguments: every tier on local processes, then the integration tier
#: again through testcontainers, then the downstream module and compose (issue: both modes pass).
TEST_PHASES: tuple[tuple[str, dict[str, str], list[str]], ...] = (
    (
        "unit, integration, e2e and browser on local processes",
        {"SECOP_TEST_INFRA": "local"},
        ["-m", "not containers"],
    ),
    (
        "integration through testcontainers",
        {"SECOP_TEST_INFRA": "containers"},
        ["-m", "integration", "tests/integration"],
    ),
    (
        "the downstream testcontainers module and compose",
        {},
        ["-m", "containers", "tests/containers"],
    ),
)


def run_test_phases() -> int:
    """Run every phase even when one fails, so one run shows everything; fail if any failed.

    ``SECOP_SKIP_CONTAINERS=1`` runs the first phase only (a machine with neither Docker nor
    root for podman).
    """
    phases = TEST_PHASES[:1] if os.environ.get("SECOP_SKIP_CONTAINERS") == "1" else TEST_PHASES
    failed = []
    for title, env, args in phases:
        print(f"\n=== {title}: pytest {' '.join(args)}", flush=True)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *args], env={**os.environ, **env}, check=False
        )
        if result.returncode != 0:
            failed.append(title)
    if len(phases) > 1:  # leave nothing running: containers, networks, the podman API service
        from secop_devinfra.containers import down

        try:
            down()  # the images stay cached for the next run
        except Exception as exc:
            print(f"warning: could not tidy containers up: {exc}", flush=True)
    if failed:
        print(f"\nFAILED phases: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


def _containers_wanted() -> bool:
    return os.environ.get("SECOP_SKIP_CONTAINERS") != "1"


def _prepare(scopes: tuple[str, ...], helm: bool = False) -> None:
    """System packages, then Kafka and FerretDB (and axe-core when the browser tests run;
    ``helm``: Helm, for the chart's checks in the unit tier): what every command needs before
    it runs."""
    system.provision(scopes)
    installs.install_all(browser="browser" in scopes, helm=helm)


def main(argv: list[str] | None = None) -> int:
    """Run a command; a missing or uninstallable piece ends it with a message, not a trace."""
    try:
        return _main(argv)
    except (system.ProvisionError, installs.InstallError) as exc:
        print(f"\n{exc}", file=sys.stderr, flush=True)
        return 1


def _main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("help", [])
    # Ctrl-C and SIGTERM both stop everything (SIGINT may arrive ignored from a background shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if command == "provision":
        installed = system.provision()
        print(f"installed: {' '.join(installed)}" if installed else "every system package present")
        return 0
    if command == "doctor":
        return 0 if doctor.report(doctor.checks(containers=_containers_wanted())) else 1
    if command == "install":
        system.provision(system.TEST_SCOPES)
        for name, path in installs.install_all(browser=True, helm=True).items():
            print(f"{name}: {path}")
        return 0
    if command == "up":
        _prepare(("cluster",))
        run_cluster(local_dir() / "cluster", load_or_create(local_dir() / "keys"))
        return 0
    if command == "infra":
        _prepare(("cluster",))
        infra = LocalInfra(local_dir() / "cluster", Ports())
        try:
            for key, value in infra.start().as_env().items():
                print(f"export {key}={value}", flush=True)
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            infra.stop()
    if command == "keys":
        for name, value in generate().env().items():
            print(_dotenv_line(name, value))
        return 0
    if command == "test":
        # Chosen tests provision only the first phase's packages (the cluster's and the
        # browser's): the containers fixtures provision theirs when a chosen test needs them.
        containers = _containers_wanted() and not rest
        _prepare(system.SCOPES if containers else system.TEST_SCOPES, helm=True)
        if not doctor.report(doctor.checks(containers=containers)):
            print("\n./dev test stops here: install what is missing first.", file=sys.stderr)
            return 1
        os.chdir(repo_root())
        if rest:  # the caller chose what to run
            os.execv(sys.executable, [sys.executable, "-m", "pytest", *rest])  # noqa: S606
        return run_test_phases()
    if command == "containers":
        from secop_devinfra.containers import main as containers_main

        return containers_main(rest)
    print(__doc__, file=sys.stderr)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    raise SystemExit(main())
