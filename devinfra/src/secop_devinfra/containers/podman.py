"""Podman as this project's container engine: packages, configuration, storage and API socket.

Everything lives under ``.local/podman/`` (configuration copies with absolute paths, image
storage, networks, the Docker-API socket); the process environment points podman at it through
``CONTAINERS_CONF`` and ``CONTAINERS_STORAGE_CONF``, so nothing under ``/etc`` changes.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from secop_devinfra.paths import RECIPES, local_dir

#: Unix socket paths are limited to 107 bytes.
MAX_SOCKET_PATH = 100


class ContainerError(RuntimeError):
    pass


def podman_dir() -> Path:
    path = local_dir().resolve() / "podman"
    path.mkdir(parents=True, exist_ok=True)
    return path


def socket_path() -> Path:
    return podman_dir() / "podman.sock"


def _storage_driver(folder: Path) -> str:
    """overlay where the kernel offers it (fast, shared layers), else vfs (copies)."""
    forced = os.environ.get("SECOP_PODMAN_STORAGE_DRIVER")
    if forced:
        return forced
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        return "vfs"
    return "overlay" if "overlay" in filesystems else "vfs"


def write_config() -> dict[str, str]:
    """The project's containers.conf and storage.conf under .local/podman; their variables."""
    folder = podman_dir()
    for sub in ("networks", "tmp", "storage", "run"):
        (folder / sub).mkdir(exist_ok=True)
    values = {"podman_dir": str(folder), "driver": _storage_driver(folder)}
    env = {}
    for name, var in (
        ("containers.conf", "CONTAINERS_CONF"),
        ("storage.conf", "CONTAINERS_STORAGE_CONF"),
    ):
        text = (RECIPES / "podman" / name).read_text()
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        target = folder / name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        env[var] = str(target)
    return env


def engine_env() -> dict[str, str]:
    """The variables that point podman, the Docker SDK and testcontainers at this engine."""
    return {
        **write_config(),
        "DOCKER_HOST": f"unix://{socket_path()}",
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
        "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
    }


def podman(
    *args: str,
    check: bool = True,
    stdin: int | None = None,
    input_bytes: bytes | None = None,
    cwd: Path | None = None,
    capture: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``podman ARGS`` with the project's configuration."""
    env = {**os.environ, **write_config()}
    result = subprocess.run(
        ["podman", *args],
        env=env,
        stdin=stdin,
        input=input_bytes,
        cwd=cwd,
        capture_output=capture,
        check=False,
    )
    if check and result.returncode != 0:
        out = (result.stdout or b"")[-3000:].decode(errors="replace")
        err = (result.stderr or b"")[-3000:].decode(errors="replace")
        raise ContainerError(f"podman {' '.join(args[:4])} ... failed:\n{out}\n{err}")
    return result


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=3)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(3)
        self.sock.connect(self._path)


def socket_answers(path: Path | None = None) -> bool:
    """True when the Docker API on the socket answers ``GET /_ping``."""
    path = path or socket_path()
    if not path.exists():
        return False
    conn = _UnixHTTP(str(path))
    try:
        conn.request("GET", "/_ping")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def ensure_socket(timeout: float = 30) -> Path:
    """Start ``podman system service`` on the project's socket unless it already answers."""
    path = socket_path()
    if len(str(path)) > MAX_SOCKET_PATH:
        raise ContainerError(f"socket path too long for a unix socket: {path}")
    if socket_answers(path):
        return path
    path.unlink(missing_ok=True)
    log = (podman_dir() / "service.log").open("ab")
    proc = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{path}"],
        env={**os.environ, **write_config()},
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlives this command: one service for every later run
    )
    log.close()
    (podman_dir() / "service.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not socket_answers(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (podman_dir() / "service.log").read_text(errors="replace")[-2000:]
            raise ContainerError(f"podman system service did not answer on {path}:\n{tail}")
        time.sleep(0.2)
    return path


def stop_socket() -> bool:
    """Stop the API service this project started (by its recorded pid); True if one ran."""
    pid_file = podman_dir() / "service.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip() or 0)
    pid_file.unlink()
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if b"system\0service" not in cmdline:
        return False  # the pid was reused by something else: leave it alone
    os.kill(pid, signal.SIGTERM)
    return True
