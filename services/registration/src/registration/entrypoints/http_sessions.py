"""Logging in and out, and the public keys that verify access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from registration.domain import devices
from registration.entrypoints import schemas as m
from registration.entrypoints.deps import Caller, Ctx, Me
from registration.service_layer import sessions

router = APIRouter(tags=["sessions"])


@router.post(
    "/sessions",
    response_model=m.AccessTokenOut,
    summary="Log in",
    responses={
        401: {"description": "wrong username or password (one message for both)"},
        403: {"description": 'registration not confirmed: {"reason": "not_confirmed"}'},
        429: {"description": "too many failures or requests: see Retry-After"},
    },
)
async def log_in(body: m.LoginIn, s: Ctx, caller: Caller, response: Response) -> m.AccessTokenOut:
    """An EdDSA-signed access token (claims: sub, username, roles, sid, iat, exp).

    A client the account does not know yet also gets a device cookie (``secop_device``,
    HttpOnly, SameSite=Strict): sent back on later logins, it keeps that client's failed
    logins apart from strangers' and lets it in while the account is locked for others."""
    issued = await sessions.sign_in(s, body.username, body.password, caller)
    if issued.device_cookie:
        response.set_cookie(
            devices.COOKIE,
            issued.device_cookie,
            max_age=s.settings.device_cookie_ttl_s,
            httponly=True,
            samesite="strict",
            secure=s.settings.public_base_url.startswith("https://"),
        )
    return m.AccessTokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.delete("/sessions/current", status_code=204, summary="Log out")
async def log_out(who: Me, s: Ctx, caller: Caller) -> Response:
    """Ends this session: this service refuses the token at once, the others on the event."""
    await sessions.sign_out(s, who.principal, caller)
    return Response(status_code=204)


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(s: Ctx) -> dict[str, Any]:
    return s.jwks
