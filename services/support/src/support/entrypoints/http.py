"""HTTP routes for requesters: open a case, follow it, write to the desk (no login needed)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import EmailStr
from secop_runtime.clients import rate_limit_key, request_address
from secop_runtime.http import ApiError

from support.domain.cases import Actor
from support.entrypoints.deps import CaseNumber, DeskDep, MaybeAgent, actor_of
from support.entrypoints.schemas import (
    AgentCaseOut,
    CaseOpenedOut,
    MessageIn,
    OpenCaseIn,
    RequesterCaseOut,
)
from support.entrypoints.views import agent_case, requester_case
from support.service_layer import handling
from support.service_layer.actions import load
from support.service_layer.desk import CaseNotFound, Desk
from support.service_layer.opening import NewCase, open_case

router = APIRouter(tags=["cases"])

NOT_FOUND = {
    404: {"description": "No such case, or the key or email is not the requester's"},
    429: {"description": "Too many requests from this address or for this case; see Retry-After"},
}
CaseKey = Annotated[
    str | None,
    Header(
        alias="X-Case-Key",
        max_length=100,
        description="The case's access key, from the email sent when it opened.",
    ),
]


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOpenedOut,
    summary="Open a support case (no login needed)",
    responses={
        422: {"description": "A field is invalid or the subject is not in the catalogue"},
        429: {"description": "Too many cases from this IP or email; see Retry-After"},
    },
)
async def open_support_case(body: OpenCaseIn, request: Request, desk: DeskDep) -> CaseOpenedOut:
    """Open a case; the answer carries the number to follow it and the first-response due date.

    The due date counts desk hours only (Monday to Friday 07:00-19:00, Saturday 08:00-12:00,
    Bogotá, no Colombian holidays) from the subject's SLA. Limited per client IP and per email.
    """
    catalogue = desk.settings.case_subjects
    if body.subject not in catalogue:
        raise ApiError(422, f"unknown subject; one of: {', '.join(catalogue)}", field="subject")
    await _enforce_rate_limits(desk, _client_ip(request, desk), str(body.requester.email))
    doc = await open_case(
        desk,
        NewCase(
            requester={**body.requester.model_dump(), "time_zone": "America/Bogota"},
            system=body.system,
            request_type=body.request_type,
            subject=body.subject,
            user_type=body.user_type,
            description=body.description,
            source_key=f"web:{uuid.uuid4()}",
            account_id=str(body.account_id) if body.account_id else None,
            nit=body.nit,
        ),
    )
    return CaseOpenedOut(case_number=doc["_id"], first_response_due=doc["first_response_due"])


@router.get(
    "/cases/{case_number}",
    response_model=RequesterCaseOut | AgentCaseOut,
    summary="Follow a case (requester: X-Case-Key and ?email=; agent: bearer token)",
    responses=NOT_FOUND,
)
async def get_case(
    number: CaseNumber,
    request: Request,
    desk: DeskDep,
    agent: MaybeAgent,
    key: CaseKey = None,
    email: Annotated[EmailStr | None, Query(description="The requester's email")] = None,
) -> Any:
    """The requester sees status, dates and public messages; an agent sees the whole case.

    The requester proves it with the case's access key (header `X-Case-Key`, from the email
    sent when the case opened) and their email. A wrong key or email gets the same 404 as an
    unknown number: nothing tells whether a case exists. Limited per client and per case.
    """
    if agent is not None:
        doc = await load(desk, number)
        return agent_case(doc, await desk.store.history(number))
    await _client_limit(desk, request)
    if email is None:
        raise ApiError(404, "case not found")
    async with _failures_counted(desk, number):
        doc, history = await handling.requester_view(desk, number, str(email), key)
    return requester_case(doc, history)


@router.post(
    "/cases/{case_number}/messages",
    status_code=201,
    response_model=RequesterCaseOut | AgentCaseOut,
    summary="Add a public message (requester with X-Case-Key and email, or agent with token)",
    responses={**NOT_FOUND, 409: {"description": "The case is resolved"}},
)
async def add_message(
    number: CaseNumber,
    body: MessageIn,
    request: Request,
    desk: DeskDep,
    agent: MaybeAgent,
    key: CaseKey = None,
) -> Any:
    """A requester writes with the case's access key (`X-Case-Key`) and email; an agent's
    message is emailed to the requester."""
    if agent is not None:
        doc = await handling.add_message(desk, number, actor_of(agent), body.body)
        return agent_case(doc, await desk.store.history(number))
    await _client_limit(desk, request)
    if body.email is None:
        raise ApiError(422, "the requester's email is required", field="email")
    actor = Actor("requester", None, "")
    async with _failures_counted(desk, number):
        doc = await handling.add_message(desk, number, actor, body.body, str(body.email), key)
    return requester_case(doc, await desk.store.history(number))


async def _client_limit(desk: Desk, request: Request) -> None:
    """Requester reads and writes per client address per minute."""
    s = desk.settings
    key = f"follow-ip:{_client_ip(request, desk)}"
    hit = await desk.limiter.hit(key, s.follow_limit_per_minute, 60, desk.now())
    if isinstance(hit, int):
        raise _too_many("too many requests", hit)


@contextlib.asynccontextmanager
async def _failures_counted(desk: Desk, number: str) -> AsyncIterator[None]:
    """Wrong keys or emails for a case, per minute: beyond the limit they get 429, so a key
    cannot be guessed from many addresses either. Only failures count: a stranger's tries
    never keep the requester, who has the right key, out of their case."""
    try:
        yield
    except CaseNotFound:
        s = desk.settings
        key = f"follow-case:{number}"
        hit = await desk.limiter.hit(key, s.follow_limit_per_minute, 60, desk.now())
        if isinstance(hit, int):
            raise _too_many("too many requests", hit) from None
        raise


def _client_ip(request: Request, desk: Desk) -> str:
    """The rate limit's key: the client under TRUSTED_PROXIES; an IPv6 client's /64."""
    address = request_address(request, desk.settings.trusted_proxies)
    return rate_limit_key(address) or "unknown"


async def _enforce_rate_limits(desk: Desk, ip: str, email: str) -> None:
    s, limiter, now = desk.settings, desk.limiter, desk.now()
    ip_hit = await limiter.hit(f"ip:{ip}", s.rate_limit_ip_max, s.rate_limit_ip_window_s, now)
    if isinstance(ip_hit, int):
        raise _too_many("too many cases opened from this network address", ip_hit)
    key = f"email:{email.strip().lower()}"
    email_hit = await limiter.hit(key, s.rate_limit_email_max, s.rate_limit_email_window_s, now)
    if isinstance(email_hit, int):
        await limiter.forget(ip_hit)
        raise _too_many("too many cases opened from this email address", email_hit)


def _too_many(what: str, retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"{what}; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
        retry_after_s=retry_after,
    )
