"""The services' public HTTP APIs, called as the person's browser would call them.

The portal owns no domain data and reads no database: every page is one or more calls to
registration, membership or support, with the person's access token and address
(``X-Forwarded-For``, believed by the services only from a trusted proxy such as the portal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Literal

import httpx
from secop_runtime import context, tracing
from secop_runtime.http import CORRELATION_HEADER

from portal.config import Settings

Service = Literal["registration", "membership", "support"]
DEVICE_COOKIE = "secop_device"  # registration's: a browser the account has signed in from


@dataclass
class Caller:
    """Who a call is made for: their address, token and registration device cookie."""

    address: str | None = None
    token: str | None = None
    device: str | None = None
    #: The person's browser, as registration records it in their access history.
    user_agent: str | None = None
    #: Set when registration answers with a new device cookie (the portal keeps it).
    new_device: str | None = field(default=None, init=False)


class ApiError(Exception):
    """A service refused: its status and message, and per-field messages for a 422."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = body.get("detail") if isinstance(body, dict) else None
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        self.fields: dict[str, str] = {}
        #: pydantic's error type of each field (``missing``, ``string_too_short``...)
        self.types: dict[str, str] = {}
        self.message = ""
        if isinstance(detail, list):
            for item in detail:
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query")]
                name = ".".join(loc) or "_"
                self.fields.setdefault(name, str(item.get("msg", "")))
                self.types.setdefault(name, str(item.get("type", "")))
        elif isinstance(detail, str):
            self.message = detail
        self.retry_after = response.headers.get("retry-after")
        super().__init__(f"{self.status}: {self.message or self.fields}")


def _on_behalf_of(service: Service, caller: Caller) -> dict[str, str]:
    """The headers that make a call the person's: their address, browser, token, the
    correlation id of their flow, and (to registration) their device cookie."""
    headers: dict[str, str] = {}
    if caller.address:
        headers["X-Forwarded-For"] = caller.address
    if caller.user_agent:
        headers["User-Agent"] = caller.user_agent[:512]
    if caller.token:
        headers["Authorization"] = f"Bearer {caller.token}"
    if cid := context.correlation_id.get():  # one person's flow, followed across services
        headers[CORRELATION_HEADER] = cid
    if caller.device and service == "registration":
        headers["Cookie"] = f"{DEVICE_COOKIE}={caller.device}"
    return headers


class Backend:
    def __init__(self, settings: Settings) -> None:
        timeout = httpx.Timeout(settings.portal_backend_timeout_s)
        urls = {
            "registration": settings.registration_url,
            "membership": settings.membership_url,
            "support": settings.support_url,
        }
        # One client per service serves everyone: it must keep no cookie, or one person's
        # (registration's device cookie) would go with the next person's calls.
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, cookies=_keeps_nothing())
            for name, url in urls.items()
        }
        for client in self._clients.values():
            tracing.instrument_client(client)  # the services' spans join the page's trace

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def request(
        self, service: Service, method: str, path: str, caller: Caller, **kwargs: Any
    ) -> httpx.Response:
        """The service's answer, whatever its status (``call`` raises on a refusal)."""
        headers = {**(kwargs.pop("headers", None) or {}), **_on_behalf_of(service, caller)}
        response = await self._clients[service].request(method, path, headers=headers, **kwargs)
        if service == "registration" and (device := response.cookies.get(DEVICE_COOKIE)):
            caller.new_device = device
        return response

    async def open_stream(
        self, service: Service, method: str, path: str, caller: Caller
    ) -> httpx.Response:
        """The service's answer with its body not yet read (a document): the caller reads it
        with ``aiter_bytes`` and must ``aclose`` it."""
        client = self._clients[service]
        request = client.build_request(method, path, headers=_on_behalf_of(service, caller))
        return await client.send(request, stream=True)

    async def call(
        self, service: Service, method: str, path: str, caller: Caller, **kwargs: Any
    ) -> Any:
        """The decoded JSON answer (None for no body); ``ApiError`` for a 4xx or 5xx."""
        response = await self.request(service, method, path, caller, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        if not response.content:
            return None
        return response.json()

    async def live(self) -> dict[str, bool]:
        """Whether each service answers its liveness check (the portal's readiness)."""
        out = {}
        for name, client in self._clients.items():
            try:
                out[name] = (await client.get("/health/live", timeout=2)).status_code == 200
            except httpx.HTTPError:
                out[name] = False
        return out


def _keeps_nothing() -> CookieJar:
    """A cookie jar that stores no cookie (a response's own cookies are still readable)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
