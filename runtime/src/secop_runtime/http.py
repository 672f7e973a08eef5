"""HTTP plumbing shared by the services: correlation ids, metrics, body limits, error shape.

Errors keep FastAPI's shapes so clients parse one format: ``{"detail": "message"}`` for
request-level errors and ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` for
field-level ones (the same list a 422 validation error carries).
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from secop_runtime import context, metrics

CORRELATION_HEADER = "x-correlation-id"


class ApiError(HTTPException):
    """A 4xx whose body explains itself, optionally per field and with extra members."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        field: str | None = None,
        error_type: str = "invalid",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        detail: Any = message
        if field is not None:
            detail = [{"loc": ["body", field], "msg": message, "type": error_type}]
        super().__init__(status_code, detail=detail, headers=headers)
        self.extra = extra


def field_errors(errors: list[tuple[str, str]], status_code: int = 422) -> ApiError:
    """Several field errors at once (e.g. every missing item of a form)."""
    exc = ApiError(status_code, "invalid")
    exc.detail = [{"loc": ["body", f], "msg": m, "type": "missing"} for f, m in errors]
    return exc


class RequestContextMiddleware:
    """Correlation id in and out, request metrics, and a cap on request bodies.

    Every body is capped at ``max_body_bytes``, except the routes of ``large_bodies`` (``(method,
    path pattern)`` -> cap, the pattern matched whole, e.g. the document upload). Too large
    always answers 413: at once when ``Content-Length`` says so, and when a body without it
    (chunked) passes the cap, whatever the app was doing with it (FastAPI would call a body
    cut short a 400)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, large_bodies: dict[tuple[str, str], int]
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.large = [
            (method.upper(), re.compile(pattern), limit)
            for (method, pattern), limit in large_bodies.items()
        ]

    def _limit_for(self, method: str, path: str) -> int:
        for allowed, pattern, limit in self.large:
            if method == allowed and pattern.fullmatch(path):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        cid = context.accept_correlation_id(
            headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        )
        limit = self._limit_for(scope["method"], scope["path"])
        declared = headers.get(b"content-length")
        status_holder = {"code": 500}
        started = time.perf_counter()
        too_large = False
        answering = False  # the app's response has begun

        async def send_wrapper(message: Message) -> None:
            nonlocal answering
            if too_large and not answering:  # the app's answer to a body cut short: 413 instead
                return
            if message["type"] == "http.response.start":
                answering = True
                status_holder["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), cid.encode()),
                ]
            await send(message)

        if declared is not None and declared.isdigit() and int(declared) > limit:
            status_holder["code"] = 413
            await _too_large(send, limit, cid)
            return

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        with context.working_on(cid):
            try:
                await self.app(scope, receive_wrapper, send_wrapper)
            except Exception:
                if not too_large:
                    raise
        if too_large and not answering:
            status_holder["code"] = 413
            await _too_large(send, limit, cid)
        # (Past the cap after the answer began, e.g. a download still reading a body it never
        # asked for: the client is treated as gone, and the answer ends there.)
        route = scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.HTTP_REQUESTS.labels(scope["method"], template, str(status_holder["code"])).inc()
        metrics.HTTP_SECONDS.labels(scope["method"], template).observe(
            time.perf_counter() - started
        )


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int, cid: str) -> None:
    body = f'{{"detail":"request body too large: at most {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (CORRELATION_HEADER.encode(), cid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
