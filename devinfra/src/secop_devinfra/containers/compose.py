"""compose.yaml through podman-compose (from PyPI, in its own virtualenv under .local/tools)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from secop_devinfra.containers.podman import ContainerError, engine_env, podman_dir
from secop_devinfra.keys import generate
from secop_devinfra.paths import local_dir, repo_root

PODMAN_COMPOSE = "podman-compose==1.6.0"
FILES = ("compose.yaml", "compose.podman.yaml")


def podman_compose() -> Path:
    """The podman-compose executable, installed once (pinned) outside the project's lock."""
    home = local_dir().resolve() / "tools" / "podman-compose"
    exe = home / "bin" / "podman-compose"
    marker = home / f".{PODMAN_COMPOSE}"
    if marker.exists() and exe.exists():
        return exe
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    result = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", PODMAN_COMPOSE],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ContainerError(f"installing {PODMAN_COMPOSE} failed:\n{result.stderr[-2000:]}")
    marker.touch()
    return exe


def env_file(operator_token: str = "compose-operator-token-0123456789abcdef") -> Path:  # noqa: S107
    """Fresh development keys for compose in .local/podman/compose.env (never the user's .env)."""
    keys = generate(kid="compose-1")
    lines = [f"{k}='{v}'" for k, v in keys.env().items()] + [f"OPERATOR_TOKEN={operator_token}"]
    path = podman_dir() / "compose.env"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def compose(*args: str, env_path: Path | None = None, check: bool = True) -> str:
    """``podman-compose -f compose.yaml -f compose.podman.yaml [--env-file F] ARGS``."""
    argv = [str(podman_compose())]
    for name in FILES:
        argv += ["-f", str(repo_root() / name)]
    if env_path:
        argv += ["--env-file", str(env_path)]
    result = subprocess.run(
        [*argv, *args],
        cwd=repo_root(),
        env={**os.environ, **engine_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise ContainerError(
            f"podman-compose {' '.join(args)} failed:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr


if __name__ == "__main__":
    print(compose(*sys.argv[1:], env_path=env_file()))
