"""Who is asking: the client's address behind trusted proxies, and the key a rate limit uses.

One rule in every service (``TRUSTED_PROXIES``). The direct peer is the client unless it is a
trusted proxy; then ``X-Forwarded-For`` is read from the right, skipping trusted proxies, and
the first address that is not one is the client. Entries further left were written by whoever
sent the request, so they are never believed (the leftmost entry is the client's to forge).
Without trusted proxies the header is ignored.

Rate limits key IPv4 clients by address and IPv6 clients by their /64: one subscriber usually
holds a whole /64, and per-address limits would give them 2^64 tries.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "2001:db8::1"]`` -> networks (a bare address is its own /32 or /128)."""
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs if spec.strip())


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]
) -> str | None:
    """The client's address, from the direct ``peer`` and the ``X-Forwarded-For`` header."""
    current = _address(peer) if peer else None
    if current is None:
        return peer
    if not forwarded_for or not _trusted(current, proxies):
        return str(current)
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:  # not an address: nothing further left can be believed
            return str(current)
        current = address
        if not _trusted(current, proxies):
            return str(current)
    return str(current)  # every hop was a trusted proxy: the leftmost is the best we know


def rate_limit_key(address: str | None) -> str | None:
    """IPv4: the address; IPv6: its /64 (``2001:db8:1:2::/64``)."""
    parsed = _address(address) if address else None
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


@lru_cache(maxsize=8)
def _networks(specs: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(specs)


def request_address(request: Request, trusted_proxies: Iterable[str]) -> str | None:
    """The client's address for a request, under ``TRUSTED_PROXIES`` (parsed once per list,
    not per request)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    return client_address(peer, forwarded, _networks(tuple(trusted_proxies)))
