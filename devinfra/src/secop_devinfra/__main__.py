"""``python -m secop_devinfra <command>``: what the README's ``./dev`` commands run.

- ``up``: install what is missing, start Kafka, FerretDB, the SMTP sink and the four services,
  print their URLs; Ctrl-C stops everything.
- ``infra``: only the infrastructure, printing the variables that point tests and services at it.
- ``install``: fetch and build Kafka's classpath and FerretDB (cached).
- ``keys``: print fresh development keys as ``.env`` lines (for compose).
- ``test [pytest args]``: install, then run the test suite (it starts what it needs itself).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from secop_devinfra import installs
from secop_devinfra.cluster import run_cluster
from secop_devinfra.infra import LocalInfra, Ports
from secop_devinfra.keys import generate, load_or_create
from secop_devinfra.paths import local_dir, repo_root


def _dotenv_line(name: str, value: str) -> str:
    return f"{name}='{value}'"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("help", [])
    # Ctrl-C and SIGTERM both stop everything (SIGINT may arrive ignored from a background shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if command == "install":
        for name, path in installs.install_all().items():
            print(f"{name}: {path}")
        return 0
    if command == "up":
        installs.install_all()
        run_cluster(local_dir() / "cluster", load_or_create(local_dir() / "keys"))
        return 0
    if command == "infra":
        installs.install_all()
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
        installs.install_all()
        os.chdir(repo_root())
        pytest_argv = [sys.executable, "-m", "pytest", *rest]
        os.execv(sys.executable, pytest_argv)  # noqa: S606 - replaces this process by pytest
    print(__doc__, file=sys.stderr)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    raise SystemExit(main())
