"""Throw-away keys for one test cluster: token signing (Ed25519), notification's sealing, the
projector's pseudonyms and the portal's session cookie."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey


@dataclass(frozen=True)
class ClusterKeys:
    jwt_private_pem: str
    jwks: str
    seal_private: str
    seal_public: str
    operator_token: str
    #: The projector's keyed hash (at least 32 bytes).
    pseudonym_key: str = ""
    #: Encrypts and signs the portal's session cookie (at least 32 bytes).
    portal_session_key: str = ""

    @classmethod
    def generate(cls, kid: str = "testcontainers-1") -> ClusterKeys:
        signing = Ed25519PrivateKey.generate()
        raw = signing.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
            "kid": kid,
            "use": "sig",
            "alg": "EdDSA",
        }
        seal = PrivateKey.generate()
        return cls(
            jwt_private_pem=signing.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            jwks=json.dumps({"keys": [jwk]}),
            seal_private=base64.b64encode(bytes(seal)).decode(),
            seal_public=base64.b64encode(bytes(seal.public_key)).decode(),
            operator_token=secrets.token_urlsafe(32),
            pseudonym_key=secrets.token_urlsafe(48),
            portal_session_key=secrets.token_urlsafe(32),
        )
