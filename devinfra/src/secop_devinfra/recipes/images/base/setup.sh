#!/bin/sh
# Runs inside the debootstrap'ed Debian bookworm root (chroot, /proc mounted: the JRE's
# post-install needs it). The result, imported with `podman import`, is the local stand-in for
# both python:3.11-slim-bookworm (the services' Dockerfiles) and a JRE image (Kafka).
# Changing this file (or its folder) rebuilds the base image and everything built on it.
set -eu
export DEBIAN_FRONTEND=noninteractive
mirror="$1"
security="$2"
cat > /etc/apt/sources.list <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
apt-get update -q
apt-get install -y -q --no-install-recommends \
    openjdk-17-jre-headless python3 python3-pip python3-venv ca-certificates
# Certificate authorities this machine trusts beyond Debian's (copied by the build from the
# host's /usr/local/share/ca-certificates, e.g. a TLS-inspecting egress proxy's), so pip and uv
# reach PyPI from inside image builds as they do on the host.
if ls /tmp/extra-ca/*.crt >/dev/null 2>&1; then
    cp /tmp/extra-ca/*.crt /usr/local/share/ca-certificates/
    update-ca-certificates
fi
rm -rf /tmp/extra-ca
# Services' Dockerfiles run `python3 -m pip install --target ...` (allowed on an externally
# managed Python); their images run as an unprivileged user, created there with useradd.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /tmp/*
