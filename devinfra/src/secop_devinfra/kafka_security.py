"""Development TLS and SCRAM secrets for the local broker, made on this machine, never committed.

A certificate authority of our own signs the broker's certificate (``localhost``, ``kafka``,
``127.0.0.1``); every principal (the admin, one per service, analytics) gets a random password.
All of it lives in one folder (``.local/...``, mode 0600 files) and is reused while it exists,
so a restarted broker and its clients keep agreeing.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from secop_contracts.access import ADMIN
from secop_contracts.access import PRINCIPALS as GRANTED

PRINCIPALS: tuple[str, ...] = (ADMIN, *GRANTED)
HOSTS = ("localhost", "kafka", "127.0.0.1", "::1")
MECHANISM = "SCRAM-SHA-512"


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
        """server.properties lines: SCRAM over TLS for clients, PLAIN over TLS between the
        broker and its controller (KRaft controllers cannot use SCRAM, whose credentials live in
        the metadata they serve), ACLs enforced with nothing allowed by default."""
        admin = self.passwords[ADMIN]
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        return [
            f"listeners=SASL_SSL://{listener},CONTROLLER://{controller}",
            f"advertised.listeners=SASL_SSL://{listener}",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL",
            "inter.broker.listener.name=SASL_SSL",
            # Both SCRAM variants: a principal's password is rotated without downtime by adding
            # it under the other mechanism first (README, security).
            "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256",
            f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config={scram} required "
            f'username="{ADMIN}" password="{admin}";',
            f"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config={scram} required;",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "sasl.mechanism.controller.protocol=PLAIN",
            f"listener.name.controller.plain.sasl.jaas.config={plain} required "
            f'username="{ADMIN}" password="{admin}" user_{ADMIN}="{admin}";',
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={self.keystore}",
            f"ssl.keystore.password={self.keystore_password}",
            f"ssl.key.password={self.keystore_password}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "ssl.client.auth=none",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            f"super.users=User:{ADMIN}",
            "allow.everyone.if.no.acl.found=false",
        ]

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create every principal before first start."""
        args = []
        for name, password in self.passwords.items():
            args += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
        return args


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _certificates(folder: Path, keystore_password: str) -> None:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SECOP development Kafka CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in HOSTS:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kafka")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    _write(
        folder / "broker.p12",
        pkcs12.serialize_key_and_certificates(
            b"kafka",
            key,
            cert,
            [ca],
            serialization.BestAvailableEncryption(keystore_password.encode()),
        ),
    )


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
    _certificates(folder, keystore_password)
    _write(
        index,
        json.dumps({"passwords": passwords, "keystore_password": keystore_password}).encode(),
    )
    return KafkaSecrets(folder, passwords, keystore_password)
