"""Use-case refusals as HTTP answers (one place, so every route answers alike)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from registration.adapters.hashing import HashQueueFull
from registration.adapters.users import Taken
from registration.domain.tokens import TokenProblem
from registration.service_layer.errors import (
    BadCredentials,
    Invalid,
    NotAuthenticated,
    NotConfirmed,
    Refused,
    Throttled,
    TokenRefused,
)

BUSY_RETRY_AFTER_S = 2
TOKEN_ANSWERS = {
    TokenProblem.EXPIRED: (410, "this link has expired: ask for a new one"),
    TokenProblem.USED: (400, "this link was already used"),
    TokenProblem.UNKNOWN: (400, "this link is not valid (a newer one may have replaced it)"),
}


def _field(status: int, field: str, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": ["body", field], "msg": message, "type": kind}]}, status
    )


def answer(exc: Exception) -> JSONResponse:
    if isinstance(exc, HashQueueFull):
        return JSONResponse(
            {"detail": "the service is busy: try again in a moment"},
            503,
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    if isinstance(exc, Taken):
        return _field(
            409, exc.field, f"this {exc.field.replace('_', ' ')} is already registered", "taken"
        )
    if isinstance(exc, Invalid):
        return _field(exc.status, exc.field, exc.message, "invalid")
    if isinstance(exc, BadCredentials):
        return JSONResponse({"detail": "wrong username or password"}, 401)
    if isinstance(exc, NotConfirmed):
        return JSONResponse(
            {
                "detail": "confirm your registration from the link emailed to you first",
                "reason": "not_confirmed",
            },
            403,
        )
    if isinstance(exc, Throttled):
        return JSONResponse(
            {"detail": exc.message}, 429, headers={"Retry-After": str(exc.retry_after_s)}
        )
    if isinstance(exc, TokenRefused):
        status, message = TOKEN_ANSWERS[exc.problem]
        return JSONResponse({"detail": message, "reason": exc.problem.value}, status)
    if isinstance(exc, NotAuthenticated):
        return JSONResponse({"detail": exc.message}, 401, headers={"WWW-Authenticate": "Bearer"})
    return JSONResponse({"detail": "refused"}, 400)


def install(app: FastAPI) -> None:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return answer(exc)

    app.add_exception_handler(Refused, handle)
    app.add_exception_handler(Taken, handle)
    app.add_exception_handler(HashQueueFull, handle)
