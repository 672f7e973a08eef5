"""Recovering a lost username or password. Answers never say whether a user matched."""

from __future__ import annotations

from fastapi import APIRouter, Response

from registration.entrypoints import schemas as m
from registration.entrypoints.deps import Caller, Ctx, must_match
from registration.service_layer import recovery

router = APIRouter(tags=["recovery"])

SENT = "if the data matches a registered user, an email was sent to the registered address"
THROTTLED = {429: {"description": "too many requests from this address: see Retry-After"}}


@router.post(
    "/recovery/username",
    status_code=202,
    response_model=m.Accepted,
    responses=THROTTLED,
    summary="Forgot my username",
)
async def recover_username(body: m.UsernameRecoveryIn, s: Ctx, caller: Caller) -> m.Accepted:
    """Exactly one of the fields. By document or email the username is emailed; by phone or
    username, a masked hint of the registered email. Always the same 202."""
    asked_by, value = body.asked()
    await recovery.ask(s, "username", {"asked_by": asked_by, "value": value}, caller)
    return m.Accepted(detail=SENT)


@router.post(
    "/recovery/password",
    status_code=202,
    response_model=m.Accepted,
    responses=THROTTLED,
    summary="Forgot my password: email a reset link",
)
async def recover_password(body: m.PasswordRecoveryIn, s: Ctx, caller: Caller) -> m.Accepted:
    """Always 202. Only the newest link works; at most one email a minute, five an hour."""
    await recovery.ask(s, "reset", {"value": body.username}, caller)
    return m.Accepted(detail=SENT)


@router.post(
    "/recovery/password/reset",
    status_code=204,
    summary="Set a new password with the emailed token",
    responses={
        400: {"description": "unknown, superseded or already used link"},
        410: {"description": "expired link"},
    },
)
async def reset_password(body: m.PasswordResetIn, s: Ctx, caller: Caller) -> Response:
    """Single use; ends every session of the user and lifts a lock-out."""
    must_match(body.new_password, body.new_password_confirmation, "new_password_confirmation")
    await recovery.reset_password(s, body.token, body.new_password, caller)
    return Response(status_code=204)
