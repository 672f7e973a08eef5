"""Dependencies shared by the routes: the desk, the agent (required or optional), the number."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from secop_runtime.auth import Principal, current_principal, require_role

from support.domain.cases import Actor, parse_case_number
from support.service_layer.desk import CaseNotFound, Desk

AGENT_ROLE = "support_agent"

_optional_bearer = HTTPBearer(auto_error=False, description="An agent's access token")


def get_desk(request: Request) -> Desk:
    return request.app.state.desk


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
        raise CaseNotFound(case_number)
    return case_number


def actor_of(principal: Principal) -> Actor:
    return Actor("agent", str(principal.user_id), principal.username)


DeskDep = Annotated[Desk, Depends(get_desk)]
Agent = Annotated[Principal, require_role(AGENT_ROLE)]
MaybeAgent = Annotated[Principal | None, Depends(optional_agent)]
CaseNumber = Annotated[str, Depends(valid_case_number)]
