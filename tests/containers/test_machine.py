"""The machine pieces a fresh machine lacked (issue 14), proved on the engine itself.

- containers on one network resolve each other by name, and start with the init binary, through
  the Docker API testcontainers uses;
- on a clean Debian root (the base image: debootstrap's minbase plus Python), provisioning's
  check finds every containers package missing and names the command, then provisioning installs
  each from the one list and verifies it.
"""

from __future__ import annotations

import os
import uuid

import pytest
from secop_devinfra.paths import repo_root

pytestmark = pytest.mark.containers


def _base_image() -> str:
    image = os.environ.get("SECOP_BASE_IMAGE")
    if not image:
        pytest.skip("a Docker engine with public images: no local base image to test with")
    return image


def test_containers_on_a_network_resolve_each_other_by_name_and_run_an_init(container_engine):
    import docker

    image = _base_image()
    client = docker.from_env(timeout=60)
    name = f"dns-{uuid.uuid4().hex[:8]}"
    network = client.networks.create(f"secop-test-{name}", driver="bridge")
    server = None
    try:
        server = client.containers.run(
            image, ["sleep", "120"], name=name, network=network.name, detach=True, init=True
        )
        out = client.containers.run(
            image,
            ["sh", "-c", f"getent hosts {name} && cat /proc/1/cmdline"],
            network=network.name,
            init=True,
            remove=True,
        ).decode()
        resolved, pid1 = out.splitlines()[:2]
        server.reload()
        address = server.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        assert address and resolved.split()[0] == address, out
        # PID 1 is the init binary (catatonit, which podman mounts at /run/podman-init)
        assert pid1.split("\0")[0] == "/run/podman-init", out
    finally:
        if server is not None:
            server.remove(force=True)
        network.remove()


@pytest.mark.timeout(900)
def test_provisioning_on_a_clean_debian_root_installs_and_verifies_every_package(
    container_engine,
):
    from secop_devinfra.containers.podman import podman

    image = _base_image()
    run = [
        "run", "--rm", "--network", "host",
        "-v", f"{repo_root() / 'devinfra' / 'src'}:/src:ro", "-e", "PYTHONPATH=/src",
        image, "python3", "-m", "secop_devinfra.system",
    ]  # fmt: skip
    before = podman(*run, "containers", check=False)
    out, err = before.stdout.decode(), before.stderr.decode()
    assert before.returncode == 1, out + err
    assert "podman" in out and "missing" in out
    assert "apt-get install -y --no-install-recommends podman runc catatonit" in err, err

    after = podman(*run, "--provision", check=False)
    out = after.stdout.decode()
    assert after.returncode == 0, out + after.stderr.decode()[-3000:]
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert {"podman", "catatonit", "aardvark-dns", "debootstrap", "maven"} <= {r[0] for r in rows}
    assert all(row[1] == "ok" for row in rows), out
