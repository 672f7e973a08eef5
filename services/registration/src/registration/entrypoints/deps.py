"""FastAPI dependencies: the service's context, the caller, and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from secop_runtime.auth import Principal
from secop_runtime.clients import request_address
from secop_runtime.errors import Invalid, Unauthenticated
from secop_runtime.service import context_of

from registration.domain import devices
from registration.domain.user import User
from registration.service_layer.context import Client, Context
from registration.service_layer.sessions import authenticate


def context(request: Request) -> Context:
    return context_of(request)


def client(request: Request) -> Client:
    """The client as TRUSTED_PROXIES lets us see it (``secop_runtime.clients``)."""
    trusted = context(request).settings.trusted_proxies
    return Client(
        ip=request_address(request, trusted),
        user_agent=request.headers.get("user-agent"),
        device=request.cookies.get(devices.COOKIE),
    )


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /sessions")


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    user: User


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedIn:
    """The user behind a valid token whose session is still live; 401 otherwise."""
    if credentials is None:
        raise Unauthenticated(
            "authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal, user = await authenticate(context(request), credentials.credentials)
    return SignedIn(principal, user)


Ctx = Annotated[Context, Depends(context)]
Caller = Annotated[Client, Depends(client)]
Me = Annotated[SignedIn, Depends(signed_in)]


def must_match(value: str, confirmation: str, field: str) -> None:
    if value != confirmation:
        raise Invalid("the two passwords differ", field=field)
