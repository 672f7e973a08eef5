"""Sealed boxes: secrets that travel on a topic readable only by the notification service.

libsodium's sealed box (X25519 + XSalsa20-Poly1305) through PyNaCl: anyone may seal with the
public key; only the private key opens. Keys are base64 strings in configuration.
"""

from __future__ import annotations

import base64

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox


class SealError(ValueError):
    """A sealed value could not be opened (wrong key, tampered or not sealed at all)."""


def generate_keypair() -> tuple[str, str]:
    """(private, public) as base64 strings."""
    key = PrivateKey.generate()
    return (base64.b64encode(bytes(key)).decode(), base64.b64encode(bytes(key.public_key)).decode())


def seal(public_key_b64: str, plaintext: str) -> str:
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    return base64.b64encode(box.encrypt(plaintext.encode())).decode()


def open_sealed(private_key_b64: str, sealed_b64: str) -> str:
    try:
        box = SealedBox(PrivateKey(base64.b64decode(private_key_b64)))
        return box.decrypt(base64.b64decode(sealed_b64)).decode()
    except (CryptoError, ValueError, TypeError) as exc:
        raise SealError("cannot open sealed value") from exc
