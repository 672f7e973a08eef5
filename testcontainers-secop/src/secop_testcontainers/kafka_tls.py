"""Development TLS and SCRAM for a Kafka broker: a certificate authority made on the spot, the
broker's keystore, and the ``server.properties`` lines that turn security on.

One implementation for every broker the project starts: the local processes (``./dev up``,
the test sessions) and the containers (this package, compose). Nothing here is committed:
each broker gets fresh material.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

#: How clients authenticate; the broker also accepts SCRAM-SHA-256, so a principal's password
#: can be rotated without downtime by adding it under the other mechanism first.
MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"


@dataclass(frozen=True)
class BrokerTls:
    """A CA certificate (PEM) and the broker's PKCS#12 keystore that it signed."""

    ca_pem: bytes
    keystore: bytes
    keystore_password: str


def make_tls(hosts: Iterable[str], keystore_password: str) -> BrokerTls:
    """A new CA and a broker certificate valid for ``hosts`` (names or addresses)."""
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
    for host in dict.fromkeys(hosts):
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
    keystore = pkcs12.serialize_key_and_certificates(
        b"kafka", key, cert, [ca], serialization.BestAvailableEncryption(keystore_password.encode())
    )
    return BrokerTls(ca.public_bytes(serialization.Encoding.PEM), keystore, keystore_password)


def secured_properties(
    listeners: Mapping[str, tuple[str, str]],
    controller: str,
    *,
    admin_password: str,
    keystore_path: str,
    keystore_password: str,
    ca_path: str,
) -> list[str]:
    """server.properties lines: each client listener (name -> (bind, advertised)) speaks
    SCRAM over TLS; the broker and its controller speak PLAIN over TLS (KRaft controllers
    cannot use SCRAM, whose credentials live in the metadata they serve); ACLs are enforced
    with nothing allowed by default and the admin as the only super user."""
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    names = list(listeners)
    lines = [
        "listeners="
        + ",".join(f"{n}://{bind}" for n, (bind, _) in listeners.items())
        + f",CONTROLLER://{controller}",
        "advertised.listeners="
        + ",".join(f"{n}://{advertised}" for n, (_, advertised) in listeners.items()),
        "listener.security.protocol.map="
        + ",".join(f"{n}:SASL_SSL" for n in [*names, "CONTROLLER"]),
        f"inter.broker.listener.name={names[0]}",
        f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.controller.protocol=PLAIN",
        f"listener.name.controller.plain.sasl.jaas.config={plain} required "
        f'username="{ADMIN}" password="{admin_password}" user_{ADMIN}="{admin_password}";',
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={keystore_path}",
        f"ssl.keystore.password={keystore_password}",
        f"ssl.key.password={keystore_password}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={ca_path}",
        "ssl.client.auth=none",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:{ADMIN}",
        "allow.everyone.if.no.acl.found=false",
    ]
    for name in names:
        prefix = f"listener.name.{name.lower()}"
        lines += [
            f"{prefix}.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256",
            f"{prefix}.{MECHANISM.lower()}.sasl.jaas.config={scram} required "
            f'username="{ADMIN}" password="{admin_password}";',
            f"{prefix}.scram-sha-256.sasl.jaas.config={scram} required;",
        ]
    return lines


def scram_arguments(passwords: Mapping[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that create every principal before first start."""
    args = []
    for name, password in passwords.items():
        args += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
    return args
