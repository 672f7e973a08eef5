"""Development keys: the access-token signing key, the notification sealing key, the
analytics projector's pseudonymisation key and the portal's session-cookie key.

Generated once into ``.local/keys`` (never committed) and handed to the services through the
environment, as an operator would from a secret store.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey
from secop_contracts.access import ADMIN, PRINCIPALS

#: Every Kafka principal compose creates (the admin and those the contracts grant).
KAFKA_PRINCIPALS: tuple[str, ...] = (ADMIN, *PRINCIPALS)


@dataclass(frozen=True)
class DevKeys:
    jwt_private_pem: str
    jwks: str
    seal_private: str
    seal_public: str
    pseudonym_key: str = ""
    #: Encrypts and signs the portal's session cookie (PORTAL_SESSION_KEY, >= 32 bytes).
    portal_session_key: str = ""
    #: Kafka principal -> SCRAM password (compose: KAFKA_PASSWORD_<PRINCIPAL>).
    kafka_passwords: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            "JWT_PRIVATE_KEY": self.jwt_private_pem,
            "JWT_PUBLIC_KEYS": self.jwks,
            "SEAL_PRIVATE_KEY": self.seal_private,
            "NOTIFICATION_SEAL_PUBLIC_KEY": self.seal_public,
            "PSEUDONYM_KEY": self.pseudonym_key,
            "PORTAL_SESSION_KEY": self.portal_session_key,
            **{f"KAFKA_PASSWORD_{k.upper()}": v for k, v in self.kafka_passwords.items()},
        }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate(kid: str = "dev-1") -> DevKeys:
    signing = Ed25519PrivateKey.generate()
    pem = signing.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    raw_public = signing.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(raw_public),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    }
    seal = PrivateKey.generate()
    return DevKeys(
        jwt_private_pem=pem,
        jwks=json.dumps({"keys": [jwk]}),
        seal_private=base64.b64encode(bytes(seal)).decode(),
        seal_public=base64.b64encode(bytes(seal.public_key)).decode(),
        pseudonym_key=secrets.token_urlsafe(32),
        portal_session_key=secrets.token_urlsafe(32),
        kafka_passwords={name: secrets.token_urlsafe(24) for name in KAFKA_PRINCIPALS},
    )


def load_or_create(folder: Path) -> DevKeys:
    path = folder / "dev-keys.json"
    if path.exists():
        keys = DevKeys(**json.loads(path.read_text()))
        # kept from before the projector or the portal: add their keys, keep the others
        added = {
            name: secrets.token_urlsafe(32)
            for name in ("pseudonym_key", "portal_session_key")
            if not getattr(keys, name)
        }
        if not added:
            return keys
        keys = DevKeys(**{**keys.__dict__, **added})
    else:
        keys = generate()
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys.__dict__))
    path.chmod(0o600)
    return keys
