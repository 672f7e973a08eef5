"""Acting as a signed-in user: tokens signed exactly as registration signs them."""

from __future__ import annotations

import json
import uuid
from uuid import UUID

from secop_devinfra.keys import DevKeys
from secop_runtime.auth import TokenSigner, signing_key_id


def bearer(
    keys: DevKeys,
    user_id: UUID | None = None,
    username: str = "ana.perez",
    roles: tuple[str, ...] = (),
    ttl_s: int = 900,
    session_id: str | None = None,
) -> dict[str, str]:
    """``Authorization`` header for a user (a fresh one by default)."""
    signer = TokenSigner(
        keys.jwt_private_pem,
        signing_key_id(keys.jwt_private_pem, json.loads(keys.jwks)),
        "secop-registration",
        "secop",
    )
    token, _ = signer.sign(
        user_id=user_id or uuid.uuid4(),
        username=username,
        roles=roles,
        session_id=session_id or uuid.uuid4().hex,
        ttl_s=ttl_s,
    )
    return {"Authorization": f"Bearer {token}"}
