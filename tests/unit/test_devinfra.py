"""The local infrastructure's helpers that need no running server."""

from __future__ import annotations

import socket

from secop_devinfra.procs import free_ports


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(200)
    assert len(set(ports)) == 200
    with socket.socket() as s:  # released once chosen: a server can take one
        s.bind(("127.0.0.1", ports[0]))


# --- the system-package list, provisioning's refusal and doctor ---------------------------


def test_every_listed_package_names_a_scope_a_file_and_a_version_command() -> None:
    from secop_devinfra import system

    listed = system.packages()
    names = [p.name for p in listed]
    assert len(names) == len(set(names))
    # the pieces a fresh machine lacked (issue 14) are on the list
    assert {"podman", "runc", "catatonit", "netavark", "aardvark-dns", "debootstrap"} <= set(names)
    for package in listed:
        assert package.scope in system.SCOPES and package.label and package.why
        assert package.version and package.provides


def test_provisioning_without_root_names_each_missing_package_and_its_install_command(
    monkeypatch, tmp_path
) -> None:
    from secop_devinfra import system

    listing = tmp_path / "packages.toml"
    listing.write_text(
        '[[package]]\nname = "no-such-package-x"\nlabel = "X"\nprovides = "/nonexistent/x"\n'
        'version = ["x", "--version"]\nfor = "containers"\nwhy = "the test needs it"\n'
        '[[package]]\nname = "coreutils"\nlabel = "ls"\nprovides = "ls"\n'
        'version = ["ls", "--version"]\nfor = "cluster"\nwhy = "listing"\n'
    )
    monkeypatch.setattr(system, "LIST", listing)
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    assert system.provision(("cluster",)) == []  # present: nothing to do, no root needed
    try:
        system.provision()
    except system.ProvisionError as exc:
        message = str(exc)
    else:
        raise AssertionError("a missing package without root must stop provisioning")
    assert "no-such-package-x (provides /nonexistent/x): the test needs it" in message
    assert "sudo apt-get install -y --no-install-recommends no-such-package-x" in message
    assert "coreutils" not in message


def test_an_unknown_scope_in_the_list_is_refused(monkeypatch, tmp_path) -> None:
    from secop_devinfra import system

    listing = tmp_path / "packages.toml"
    listing.write_text(
        '[[package]]\nname = "a"\nlabel = "a"\nprovides = "a"\nversion = ["a"]\n'
        'for = "everything"\nwhy = "?"\n'
    )
    monkeypatch.setattr(system, "LIST", listing)
    try:
        system.packages()
    except system.ProvisionError as exc:
        assert "everything" in str(exc)
    else:
        raise AssertionError("an unknown scope must be refused")


def test_doctor_fails_on_a_missing_requirement_and_not_on_an_unbuilt_image() -> None:
    import io

    from secop_devinfra.doctor import Check, report

    out = io.StringIO()
    ok = report(
        [
            Check("prerequisite", "Go >= 1.24", True, "go1.26"),
            Check("local image", "secop-base", False, "not built yet", "build", required=False),
        ],
        out,
    )
    assert ok and "not yet" in out.getvalue()
    out = io.StringIO()
    assert not report([Check("system package", "podman", False, "absent", "apt-get ...")], out)
    assert "podman: apt-get ..." in out.getvalue()
