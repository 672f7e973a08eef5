"""FastAPI dependencies: the service's context, and the operator's credential."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from secop_runtime.http import ApiError
from secop_runtime.service import context_of

from notification.service_layer.context import Context


def context(request: Request) -> Context:
    return context_of(request)


def require_operator(
    ctx: Annotated[Context, Depends(context)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Constant-time comparison with the configured operator token (an HTTP credential, so
    refused here, with the challenge header)."""
    expected = ctx.settings.operator_token.get_secret_value()
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise ApiError(401, "operator credential required", headers={"WWW-Authenticate": "Bearer"})


Ctx = Annotated[Context, Depends(context)]
