"""Access tokens: signed by registration (EdDSA), verified locally by every other service.

Claims: ``sub`` (user id), ``username``, ``roles`` (platform roles such as ``support_agent``),
``sid`` (session id), ``iat``, ``exp``, ``iss``, ``aud``. Verification needs only the public keys
(JWKS from configuration); logouts and revocations arrive as events and are kept locally, so no
service ever calls registration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pymongo.asynchronous.database import AsyncDatabase
from secop_contracts.registration import UserSessionsRevoked, UserSignedOut

from secop_runtime.mongo import ensure_indexes, expiry_index

if TYPE_CHECKING:
    from secop_runtime.service import ServiceRuntime

REVOKED_SESSIONS = "revoked_sessions"
REVOKED_USERS = "revoked_users"
#: The longest an access token lives (registration's ACCESS_TOKEN_TTL_S is at most this).
LONGEST_TOKEN_S = 3600
ALGORITHMS = ["EdDSA"]


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    username: str
    roles: frozenset[str]
    session_id: str
    issued_at: datetime
    expires_at: datetime
    token: str

    def has_role(self, role: str) -> bool:
        return role in self.roles


class TokenError(Exception):
    """The token is not acceptable: the message is safe to show."""


def load_jwks(value: str) -> dict[str, Any]:
    """A JWKS given inline (JSON) or as a file path."""
    text = value.strip()
    if not text:
        return {"keys": []}
    if not text.startswith("{"):
        text = Path(text).read_text()
    jwks = json.loads(text)
    if "keys" not in jwks:
        jwks = {"keys": [jwks]}
    return jwks


class TokenVerifier:
    def __init__(self, jwks: dict[str, Any], issuer: str, audience: str) -> None:
        self._keys = (
            {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys} if jwks["keys"] else {}
        )
        self._issuer, self._audience = issuer, audience

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid"))
            if key is None:
                raise TokenError("token signed by an unknown key")
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "sid"]},
            )
            return Principal(
                user_id=UUID(claims["sub"]),
                username=str(claims.get("username", "")),
                roles=frozenset(claims.get("roles", [])),
                session_id=str(claims["sid"]),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                token=token,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
            raise TokenError("invalid token") from exc


class Revocations:
    """Sessions ended elsewhere (logout, password reset), learned from registration's events."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def is_revoked(self, principal: Principal) -> bool:
        if await self._db[REVOKED_SESSIONS].find_one({"_id": principal.session_id}, {"_id": 1}):
            return True
        user = await self._db[REVOKED_USERS].find_one({"_id": str(principal.user_id)})
        return bool(user and principal.issued_at <= user["before"])

    async def revoke_session(self, session_id: str, expires_at: datetime) -> None:
        await self._db[REVOKED_SESSIONS].update_one(
            {"_id": session_id}, {"$set": {"expires_at": expires_at}}, upsert=True
        )

    async def ensure_indexes(self, longest_token_s: int = LONGEST_TOKEN_S) -> None:
        """Where the database has TTL indexes, it deletes what ``prune`` does, as it falls due."""
        await ensure_indexes(self._db[REVOKED_SESSIONS], expiry_index("expires_at", timedelta()))
        kept = timedelta(seconds=2 * longest_token_s)
        await ensure_indexes(self._db[REVOKED_USERS], expiry_index("before", kept))

    async def prune(self, now: datetime, longest_token_s: int = LONGEST_TOKEN_S) -> None:
        """What can no longer refuse anything: sessions whose tokens have expired, and users
        revoked longer ago than any token lives (tokens live at most an hour)."""
        await self._db[REVOKED_SESSIONS].delete_many({"expires_at": {"$lt": now}})
        cutoff = now - timedelta(seconds=2 * longest_token_s)
        await self._db[REVOKED_USERS].delete_many({"before": {"$lt": cutoff}})

    async def revoke_user_before(self, user_id: UUID, before: datetime) -> None:
        await self._db[REVOKED_USERS].update_one(
            {"_id": str(user_id)}, {"$max": {"before": before}}, upsert=True
        )


_bearer = HTTPBearer(
    auto_error=False, description="Access token from registration's POST /sessions"
)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated user; 401 when the token is missing, invalid, expired or revoked."""
    if credentials is None:
        raise _unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    auth = request.app.state.auth
    try:
        principal = auth.verifier.verify(credentials.credentials)
    except TokenError as exc:
        raise _unauthorized(str(exc)) from exc
    if await auth.revocations.is_revoked(principal):
        raise _unauthorized("session ended: log in again")
    return principal


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """For routes anyone may call that show a signed-in user a little more: None without a
    token; a token sent must be valid (401 otherwise, never silently anonymous)."""
    if credentials is None:
        return None
    return await current_principal(request, credentials)


def require_role(role: str) -> Any:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"requires the {role} role")
        return principal

    return Depends(dependency)


CurrentUser = Annotated[Principal, Depends(current_principal)]
MaybeUser = Annotated[Principal | None, Depends(optional_principal)]


@dataclass
class AuthState:
    verifier: TokenVerifier
    revocations: Revocations


class TokenSigner:
    """Signs access tokens (registration's side; tests use it to act as a signed-in user)."""

    def __init__(self, private_key_pem: str, kid: str, issuer: str, audience: str) -> None:
        self._key = private_key_pem
        self._kid, self._issuer, self._audience = kid, issuer, audience

    def sign(
        self,
        *,
        user_id: UUID,
        username: str,
        roles: Iterable[str],
        session_id: str,
        ttl_s: int,
        now: datetime | None = None,
    ) -> tuple[str, datetime]:
        issued = now or datetime.now(UTC)
        expires = issued + timedelta(seconds=ttl_s)
        claims = {
            "sub": str(user_id),
            "username": username,
            "roles": sorted(set(roles)),
            "sid": session_id,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "iss": self._issuer,
            "aud": self._audience,
        }
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self._kid})
        return token, expires


class SigningKeyMismatch(ValueError):
    """The private key's public half is not among the published keys: every token it signed
    would be refused by every service."""


def signing_key_id(private_key_pem: str, jwks: dict[str, Any]) -> str:
    """The ``kid`` of the published key that is ``private_key_pem``'s public half.

    During a rotation two keys are published (the new one signs, tokens of the old one verify
    until they expire), so the signing key is found by its public half, not by its place.
    """
    from cryptography.hazmat.primitives import serialization

    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        private = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyMismatch("JWT_PRIVATE_KEY is not an unencrypted PEM private key") from exc
    mine = private.public_key().public_bytes(*spki)
    for key in jwt.PyJWKSet.from_dict(jwks).keys:
        if key.key_id and key.key.public_bytes(*spki) == mine:
            return str(key.key_id)
    published = ", ".join(str(k.get("kid")) for k in jwks.get("keys", []))
    raise SigningKeyMismatch(
        f"JWT_PRIVATE_KEY matches none of the keys in JWT_PUBLIC_KEYS (kids: {published or 'none'})"
        ": publish its public half (./dev keys prints a matching pair) before it signs tokens"
    )


def track_revocations(runtime: ServiceRuntime) -> None:
    """Keep a local list of ended sessions so locally verified tokens stop working at logout."""

    async def on_signed_out(event: UserSignedOut) -> None:
        p = event.payload
        await Revocations(runtime.db).revoke_session(p.session_id, p.token_expires_at)

    async def on_revoked(event: UserSessionsRevoked) -> None:
        p = event.payload
        await Revocations(runtime.db).revoke_user_before(p.user_id, p.revoked_before)

    runtime.subscribe([UserSignedOut], on_signed_out, "Refuse the token of a session that ended.")
    runtime.subscribe([UserSessionsRevoked], on_revoked, "Refuse every older token of a user.")
