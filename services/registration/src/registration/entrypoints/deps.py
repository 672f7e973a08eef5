"""FastAPI dependencies: the use-case context, the caller, and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from secop_runtime.auth import Principal
from secop_runtime.clients import request_address
from secop_runtime.http import ApiError

from registration.domain import devices
from registration.service_layer.context import Client, Services
from registration.service_layer.errors import NotAuthenticated
from registration.service_layer.sessions import authenticate


def services(request: Request) -> Services:
    return request.app.state.registration


def client(request: Request) -> Client:
    """The client as TRUSTED_PROXIES lets us see it (``secop_runtime.clients``)."""
    trusted = request.app.state.runtime.settings.trusted_proxies
    return Client(
        ip=request_address(request, trusted),
        user_agent=request.headers.get("user-agent"),
        device=request.cookies.get(devices.COOKIE),
    )


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /sessions")


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    user: dict[str, Any]


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedIn:
    """The user behind a valid token whose session is still live; 401 otherwise."""
    if credentials is None:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal, user = await authenticate(services(request), credentials.credentials)
    except NotAuthenticated as exc:
        raise ApiError(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from exc
    return SignedIn(principal, user)


Ctx = Annotated[Services, Depends(services)]
Caller = Annotated[Client, Depends(client)]
Me = Annotated[SignedIn, Depends(signed_in)]


def must_match(value: str, confirmation: str, field: str) -> None:
    if value != confirmation:
        raise ApiError(422, "the two passwords differ", field=field)
