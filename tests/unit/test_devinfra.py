"""The local infrastructure's helpers that need no running server."""

from __future__ import annotations

import socket

from secop_devinfra.procs import free_ports


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(200)
    assert len(set(ports)) == 200
    with socket.socket() as s:  # released once chosen: a server can take one
        s.bind(("127.0.0.1", ports[0]))
