"""Local images, built without any registry and tagged by a hash of their inputs.

- ``secop-base``: Debian bookworm from the machine's mirror (``debootstrap --variant=minbase``)
  with a JRE 17 and Python 3.11, imported with ``tar | podman import``;
- ``secop-kafka``: the base plus the Kafka classpath the local mode uses, with a start script
  that speaks the ``KAFKA_*`` variables of the ``apache/kafka`` image;
- ``secop-ferretdb``: ``FROM scratch`` plus the static FerretDB binary;
- ``secop-smtp-sink``: the base plus aiosmtpd and ``secop_devinfra/smtp_sink.py`` (Mailpit's API
  subset on Mailpit's ports);
- ``secop-<service>``: ``services/Dockerfile`` for that service, ``BASE_IMAGE`` = the local base.

Each image is tagged ``localhost/secop-<name>:<hash of its inputs>``: an existing tag is reused,
changed inputs build afresh. ``:local`` follows the newest build (compose.podman.yaml uses it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from secop_devinfra.containers.podman import ContainerError, podman, podman_dir, write_config
from secop_devinfra.installs import ferretdb_binary, kafka_classpath
from secop_devinfra.paths import RECIPES, local_dir, repo_root

PREFIX = "localhost/secop-"
IMAGES = RECIPES / "images"
SERVICES = ("registration", "membership", "support", "notification", "projector", "portal")
#: Each service's HTTP port, baked into its image (``services/Dockerfile``'s PORT).
PORTS = {"registration": 8001, "membership": 8002, "support": 8003, "notification": 8004}
PORTS["projector"] = 8005
PORTS["portal"] = 8000
#: Authorities the host trusts beyond Debian's bundle; the base image trusts them too.
HOST_CA = Path("/usr/local/share/ca-certificates")
SKIP = ("__pycache__", ".pyc", ".pytest_cache", ".ruff_cache")


def tree_hash(paths: Iterable[Path], *extra: str) -> str:
    """A hash of the files under ``paths`` (names relative to each root, and contents)."""
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if any(part in str(path) for part in SKIP):
                continue
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(path.read_bytes())
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:12]


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def _alias(tag: str) -> str:
    """Point ``:local`` at ``tag`` (what compose.podman.yaml names); untag older builds (their
    layers stay as build cache until ``podman image prune``)."""
    repo = tag.rsplit(":", 1)[0]
    podman("tag", tag, f"{repo}:local")
    listed = podman("images", "--format", "{{.Tag}}", repo).stdout.decode().split()
    for old in listed:
        if re.fullmatch(r"[0-9a-f]{12}", old) and f"{repo}:{old}" != tag:
            podman("untag", f"{repo}:{old}", f"{repo}:{old}", check=False)
    return tag


def _log(name: str) -> Path:
    folder = podman_dir() / "logs"
    folder.mkdir(exist_ok=True)
    return folder / f"build-{name}.log"


# --- base image ----------------------------------------------------------------------------


def debian_mirrors() -> tuple[str, str]:
    """The machine's Debian mirror and security mirror, from apt's sources (or the env)."""
    mirror = os.environ.get("SECOP_DEBIAN_MIRROR", "")
    security = os.environ.get("SECOP_DEBIAN_SECURITY_MIRROR", "")
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for url in re.findall(r"(?:^URIs:|^deb)\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE):
            url = url.rstrip("/")
            if url.endswith("/debian-security") and not security:
                security = url
            elif url.endswith("/debian") and not mirror:
                mirror = url
    return (
        mirror or "http://deb.debian.org/debian",
        security or "http://deb.debian.org/debian-security",
    )


def _mounts_under(root: Path) -> list[str]:
    mounts = Path("/proc/mounts").read_text().splitlines()
    return [m.split()[1] for m in mounts if m.split()[1].startswith(str(root) + "/")]


def _clean_rootfs(root: Path) -> None:
    for mount in sorted(_mounts_under(root), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    if _mounts_under(root):
        raise ContainerError(f"{root} still has mounts; not deleting it")
    shutil.rmtree(root, ignore_errors=True)


def _run_logged(argv: list[str], log: Path, what: str, **kwargs: object) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise ContainerError(f"{what} failed (exit {result.returncode}); {log}:\n{tail}")


def base_image() -> str:
    """Debian bookworm + JRE 17 + Python 3.11, built once per recipe."""
    recipe = IMAGES / "base"
    extra_ca = sorted(HOST_CA.glob("*.crt")) if HOST_CA.is_dir() else []
    tag = f"{PREFIX}base:{tree_hash([recipe, *extra_ca])}"
    if image_exists(tag):
        return _alias(tag)
    if os.geteuid() != 0:
        raise ContainerError("building the base image (debootstrap, chroot) needs root")
    mirror, security = debian_mirrors()
    root = local_dir().resolve() / "build" / "base-rootfs"
    log = _log("base")
    log.write_text("")
    _clean_rootfs(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    _run_logged(
        ["debootstrap", "--variant=minbase", "bookworm", str(root), mirror], log, "debootstrap"
    )
    shutil.copy(recipe / "setup.sh", root / "tmp" / "setup.sh")
    (root / "tmp" / "extra-ca").mkdir()
    for cert in extra_ca:
        shutil.copy(cert, root / "tmp" / "extra-ca" / cert.name)
    _run_logged(["mount", "-t", "proc", "proc", str(root / "proc")], log, "mount /proc")
    try:
        _run_logged(
            ["chroot", str(root), "/bin/sh", "/tmp/setup.sh", mirror, security],  # noqa: S108
            log,
            "installing packages in the base image",
        )
    finally:
        subprocess.run(["umount", str(root / "proc")], check=False)
    for leftover in ("etc/resolv.conf", "etc/hostname", "tmp/setup.sh"):
        (root / leftover).unlink(missing_ok=True)
    changes = [
        f"ENV {line.strip()}"
        for line in (recipe / "image.env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    changes.append('CMD ["/bin/bash"]')
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", "-", "."],
        stdout=subprocess.PIPE,
    )
    args = [arg for change in changes for arg in ("--change", change)]
    try:
        podman("import", *args, "-", tag, stdin=tar.stdout.fileno())  # type: ignore[union-attr]
    finally:
        tar.stdout.close()  # type: ignore[union-attr]
        tar.wait()
    _clean_rootfs(root)
    return _alias(tag)


# --- images built with podman build --------------------------------------------------------


def _build(name: str, tag: str, context: Path, containerfile: Path, args: dict[str, str]) -> str:
    if image_exists(tag):
        return _alias(tag)
    log = _log(name)
    log.write_text("")
    # Docker format: OCI images drop HEALTHCHECK, which the services' Dockerfiles declare.
    argv = ["podman", "build", "--pull=never", "--layers", "--format", "docker"]
    argv += ["-f", str(containerfile), "-t", tag]
    for key, value in args.items():
        argv += ["--build-arg", f"{key}={value}"]
    _run_logged([*argv, str(context)], log, f"building {tag}", env={**os.environ, **write_config()})
    return _alias(tag)


def _context(name: str) -> Path:
    folder = local_dir().resolve() / "build" / "images" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _link_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith("."):
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def kafka_image(base: str) -> str:
    recipe = IMAGES / "kafka"
    classpath = kafka_classpath()
    tag = f"{PREFIX}kafka:{tree_hash([recipe], classpath.name, base)}"
    if image_exists(tag):
        return _alias(tag)
    context = _context("kafka")
    _link_tree(recipe, context)
    _link_tree(classpath, context / "libs")
    return _build("kafka", tag, context, context / "Containerfile", {"BASE_IMAGE": base})


def ferretdb_image() -> str:
    recipe = IMAGES / "ferretdb"
    binary = ferretdb_binary()
    tag = f"{PREFIX}ferretdb:{tree_hash([recipe, binary])}"
    if image_exists(tag):
        return _alias(tag)
    static = subprocess.run(["file", str(binary)], capture_output=True, text=True, check=False)
    if static.returncode == 0 and "statically linked" not in static.stdout:
        raise ContainerError(f"{binary} is not statically linked: it cannot run FROM scratch")
    context = _context("ferretdb")
    _link_tree(recipe, context)
    shutil.copy2(binary, context / "ferretdb")
    (context / "data").mkdir()
    (context / "data" / ".keep").touch()
    return _build("ferretdb", tag, context, context / "Containerfile", {})


def smtp_sink_image(base: str) -> str:
    recipe = IMAGES / "smtp-sink"
    sink = Path(__file__).resolve().parent.parent / "smtp_sink.py"
    tag = f"{PREFIX}smtp-sink:{tree_hash([recipe, sink], base)}"
    if image_exists(tag):
        return _alias(tag)
    context = _context("smtp-sink")
    _link_tree(recipe, context)
    shutil.copy2(sink, context / "smtp_sink.py")
    return _build("smtp-sink", tag, context, context / "Containerfile", {"BASE_IMAGE": base})


def service_image(name: str, base: str) -> str:
    """The service's image from ``services/Dockerfile``, built from the workspace with the
    local base image."""
    root = repo_root()
    dockerfile = root / "services" / "Dockerfile"
    inputs = [
        dockerfile,
        root / "pyproject.toml",
        root / "uv.lock",
        root / ".dockerignore",
        root / "contracts",
        root / "runtime",
        root / "services" / name / "src",
        *(p for p in sorted(root.glob("*/pyproject.toml"))),
        *(p for p in sorted(root.glob("services/*/pyproject.toml"))),
        root / "examples" / "analytics" / "pyproject.toml",
    ]
    tag = f"{PREFIX}{name}:{tree_hash([p for p in inputs if p.exists()], base, name)}"
    if image_exists(tag):
        podman("tag", tag, f"localhost/secop-{name}:dev")
        return _alias(tag)
    args = {"BASE_IMAGE": base, "SERVICE": name, "PORT": str(PORTS[name])}
    built = _build(name, tag, root, dockerfile, args)
    # compose.yaml names the service images secop-<name>:dev: podman-compose then finds them.
    podman("tag", built, f"localhost/secop-{name}:dev")
    return built


def build_all(services: Iterable[str] = SERVICES) -> dict[str, str]:
    """Every local image, one after another (builds are CPU-heavy): name -> tag."""
    base = base_image()
    tags = {
        "base": base,
        "kafka": kafka_image(base),
        "ferretdb": ferretdb_image(),
        "smtp-sink": smtp_sink_image(base),
    }
    for name in services:
        tags[name] = service_image(name, base)
    return tags


def build_infra() -> dict[str, str]:
    """Only what the test harness's containers mode needs: Kafka, FerretDB, the SMTP sink."""
    return build_all(services=())


def existing_tags() -> dict[str, str]:
    """The ``:local`` tags that exist (the newest build of each image)."""
    names = ("base", "kafka", "ferretdb", "smtp-sink", *SERVICES)
    return {n: f"{PREFIX}{n}:local" for n in names if image_exists(f"{PREFIX}{n}:local")}
