"""Dependencies shared by the routes: the context, the agent (required or optional), the number."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from secop_runtime.auth import Principal, current_principal, require_role
from secop_runtime.clients import rate_limit_key, request_address
from secop_runtime.errors import NotFound
from secop_runtime.service import context_of

from support.domain.cases import Actor, parse_case_number
from support.service_layer.context import CASE_NOT_FOUND, Context

AGENT_ROLE = "support_agent"

_optional_bearer = HTTPBearer(auto_error=False, description="An agent's access token")


def context(request: Request) -> Context:
    return context_of(request)


async def optional_agent(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
) -> Principal | None:
    """No token: a requester. A token: it must be valid and an agent's (401/403 otherwise)."""
    if credentials is None:
        return None
    principal = await current_principal(request, credentials)
    if not principal.has_role(AGENT_ROLE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"requires the {AGENT_ROLE} role")
    return principal


def valid_case_number(
    case_number: Annotated[str, Path(examples=["CCE-2026-000123"])],
) -> str:
    """A malformed number is simply not found (the same 404 as an unknown one)."""
    if parse_case_number(case_number) is None:
        raise NotFound(CASE_NOT_FOUND)
    return case_number


def client_of(request: Request, ctx: Annotated[Context, Depends(context)]) -> str:
    """The rate limits' key: the client under TRUSTED_PROXIES; an IPv6 client's /64."""
    address = request_address(request, ctx.settings.trusted_proxies)
    return rate_limit_key(address) or "unknown"


def actor_of(principal: Principal) -> Actor:
    return Actor("agent", str(principal.user_id), principal.username)


Ctx = Annotated[Context, Depends(context)]
Agent = Annotated[Principal, require_role(AGENT_ROLE)]
MaybeAgent = Annotated[Principal | None, Depends(optional_agent)]
CaseNumber = Annotated[str, Depends(valid_case_number)]
Client = Annotated[str, Depends(client_of)]
