"""Containers without Docker: podman, local images, and the variables that point tools at them.

``python -m secop_devinfra.containers provision|images|env|down`` (or the functions below):

- ``provision()``: the system packages the list names for containers (apt, as root, when
  missing: podman, runc, the init binary, netavark's DNS, debootstrap); the project's
  podman configuration and storage under ``.local/podman/``; the Docker-API socket
  ``.local/podman/podman.sock`` (``podman system service``, started once in the background); the
  base image. Idempotent and cached: a second run takes about a second.
- ``build_images(services)``: ``provision()`` plus Kafka, FerretDB, the SMTP sink and the given
  services' images (``services/Dockerfile`` with the local base image), tagged by content.
- ``engine_and_image_env()``: ``DOCKER_HOST``, the ``TESTCONTAINERS_*`` switches and
  ``SECOP_*_IMAGE`` for the local images (what the test harness and secop_testcontainers read).
- ``down()``: remove the containers and networks tests or compose left, stop the API socket
  (images stay cached).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable

from secop_devinfra import system
from secop_devinfra.containers import images as _images
from secop_devinfra.containers.podman import (
    ContainerError,
    engine_env,
    ensure_socket,
    podman,
    socket_answers,
    stop_socket,
    write_config,
)

__all__ = [
    "ContainerError",
    "build_images",
    "down",
    "engine_and_image_env",
    "main",
    "prepare",
    "provision",
]

SERVICES = _images.SERVICES
COMPOSE_PROJECT = "secop-accounts"


def provision() -> dict[str, str]:
    """podman ready to serve the Docker API, and the base image; returns the engine variables."""
    system.provision(("containers",))
    write_config()
    ensure_socket()
    _images.base_image()
    return engine_env()


def image_env(tags: dict[str, str]) -> dict[str, str]:
    """``SECOP_<NAME>_IMAGE`` for secop_testcontainers and the harness, from built tags."""
    names = {"kafka": "KAFKA", "ferretdb": "MONGODB", "smtp-sink": "MAILBOX", "base": "BASE"}
    return {
        f"SECOP_{names.get(name, name.upper())}_IMAGE": tag
        for name, tag in tags.items()
        if name in names or name in SERVICES
    }


def build_images(services: Iterable[str] = SERVICES) -> dict[str, str]:
    """Provision, then build (or reuse) every local image; returns name -> tag."""
    provision()
    return _images.build_all(services)


def engine_and_image_env(services: Iterable[str] = SERVICES) -> dict[str, str]:
    return {**engine_env(), **image_env(build_images(services))}


def docker_engine_answers() -> bool:
    """True when a Docker engine (not our podman socket) is configured and answers."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def prepare(services: Iterable[str] = SERVICES) -> dict[str, str]:
    """What a test session needs for containers, applied to ``os.environ`` and returned.

    With a Docker engine answering: nothing (public images, testcontainers' defaults). Without:
    podman through the project's socket and the local images.
    """
    ours = f"unix://{_socket()}"
    if os.environ.get("DOCKER_HOST") != ours and docker_engine_answers():
        return {}
    env = engine_and_image_env(services)
    os.environ.update(env)
    _refresh_testcontainers_config()
    return env


def _refresh_testcontainers_config() -> None:
    """testcontainers reads its settings from the environment when first imported: if that
    happened before ``prepare()``, give it the values just set."""
    config = sys.modules.get("testcontainers.core.config")
    if config is None:
        return
    c = config.testcontainers_config
    c.tc_host_override = os.environ["TESTCONTAINERS_HOST_OVERRIDE"]
    c.connection_mode_override = config.ConnectionMode(os.environ["TESTCONTAINERS_CONNECTION_MODE"])
    c.ryuk_disabled = True


def _socket() -> str:
    from secop_devinfra.containers.podman import socket_path

    return str(socket_path())


def down() -> list[str]:
    """Remove what tests and compose left running; stop the API socket. Images stay cached."""
    removed: list[str] = []
    for label in ("org.testcontainers=true", f"io.podman.compose.project={COMPOSE_PROJECT}"):
        ids = podman("ps", "-aq", "--filter", f"label={label}").stdout.decode().split()
        if ids:
            podman("rm", "-f", "-t", "10", *ids)
            removed += ids
    networks = podman("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
    for network in networks:
        # testcontainers names its networks with a UUID; compose with <project>_<name>.
        if network.startswith(COMPOSE_PROJECT) or (len(network) == 36 and network.count("-") == 4):
            podman("network", "rm", "-f", network, check=False)
    stop_socket()
    return removed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "help"
    started = time.monotonic()
    if command == "provision":
        env = provision()
    elif command == "images":
        env = engine_and_image_env(args[1:] or SERVICES)
    elif command == "env":
        env = {**engine_env(), **image_env(_images.existing_tags())}
    elif command == "down":
        removed = down()
        print(f"removed {len(removed)} container(s); API socket stopped", file=sys.stderr)
        return 0
    else:
        print(__doc__, file=sys.stderr)
        return 0 if command in ("help", "-h", "--help") else 2
    if command != "env" and not socket_answers():
        raise ContainerError("the podman API socket does not answer")
    for key, value in env.items():
        print(f"export {key}={value}")
    if command != "env":
        print(f"# {command} done in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0
