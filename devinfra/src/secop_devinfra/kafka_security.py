"""Development TLS and SCRAM secrets for the local broker, made on this machine, never committed.

A certificate authority of our own signs the broker's certificate (``localhost``, ``kafka``,
``127.0.0.1``); every principal (the admin, one per service, analytics) gets a random password.
All of it lives in one folder (``.local/...``, mode 0600 files) and is reused while it exists,
so a restarted broker and its clients keep agreeing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from secop_contracts.access import ADMIN
from secop_contracts.access import PRINCIPALS as GRANTED
from secop_testcontainers.kafka_tls import MECHANISM, make_tls, scram_arguments, secured_properties

PRINCIPALS: tuple[str, ...] = (ADMIN, *GRANTED)
HOSTS = ("localhost", "kafka", "127.0.0.1", "::1")


@dataclass(frozen=True)
class KafkaSecrets:
    folder: Path
    passwords: dict[str, str]
    keystore_password: str

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.folder / "broker.p12"

    def client_env(self, principal: str) -> dict[str, str]:
        """The ``KAFKA_*`` settings of a client connecting as ``principal``."""
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_USERNAME": principal,
            "KAFKA_PASSWORD": self.passwords[principal],
            "KAFKA_CA_FILE": str(self.ca_file),
        }

    def client_fields(self, principal: str) -> dict[str, str]:
        """The same settings as ``ServiceSettings`` field names (``kafka_username``, ...)."""
        return {key.lower(): value for key, value in self.client_env(principal).items()}

    def broker_properties(self, listener: str, controller: str) -> list[str]:
        """server.properties lines for one client listener (``secured_properties``)."""
        return secured_properties(
            {"SASL_SSL": (listener, listener)},
            controller,
            admin_password=self.passwords[ADMIN],
            keystore_path=str(self.keystore),
            keystore_password=self.keystore_password,
            ca_path=str(self.ca_file),
        )

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create every principal before first start."""
        return scram_arguments(self.passwords)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def load_or_create(folder: Path) -> KafkaSecrets:
    """The secrets kept in ``folder``, made there first if absent (or incomplete)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    index = folder / "secrets.json"
    if index.exists() and (folder / "broker.p12").exists() and (folder / "ca.pem").exists():
        data = json.loads(index.read_text())
        if set(data["passwords"]) == set(PRINCIPALS):
            return KafkaSecrets(folder, data["passwords"], data["keystore_password"])
    passwords = {name: secrets.token_urlsafe(24) for name in PRINCIPALS}
    keystore_password = secrets.token_urlsafe(24)
    tls = make_tls(HOSTS, keystore_password)
    _write(folder / "ca.pem", tls.ca_pem)
    _write(folder / "broker.p12", tls.keystore)
    _write(
        index,
        json.dumps({"passwords": passwords, "keystore_password": keystore_password}).encode(),
    )
    return KafkaSecrets(folder, passwords, keystore_password)
