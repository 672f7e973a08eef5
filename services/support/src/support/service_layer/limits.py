"""How often one may open and follow cases without an account (beyond: ``Throttled``, 429).

Opening: per client address and per email, each in its own sliding window; an attempt one limit
refuses is withdrawn from the other, so ``Retry-After`` stays honest. Following (reading and
writing as the requester): per client address per minute, and wrong keys or emails per case per
minute, so a key cannot be guessed from many addresses either.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from secop_runtime.errors import NotFound, Throttled

from support.service_layer.context import Context


async def enforce_opening_limits(ctx: Context, client: str, email: str) -> None:
    s, limiter, now = ctx.settings, ctx.limiter, ctx.now()
    ip_hit = await limiter.hit(f"ip:{client}", s.rate_limit_ip_max, s.rate_limit_ip_window_s, now)
    if isinstance(ip_hit, int):
        raise too_many("too many cases opened from this network address", ip_hit)
    key = f"email:{email.strip().lower()}"
    email_hit = await limiter.hit(key, s.rate_limit_email_max, s.rate_limit_email_window_s, now)
    if isinstance(email_hit, int):
        await limiter.forget(ip_hit)
        raise too_many("too many cases opened from this email address", email_hit)


async def enforce_follow_limit(ctx: Context, client: str) -> None:
    """Requester reads and writes per client address per minute."""
    limit = ctx.settings.follow_limit_per_minute
    hit = await ctx.limiter.hit(f"follow-ip:{client}", limit, 60, ctx.now())
    if isinstance(hit, int):
        raise too_many("too many requests", hit)


@contextlib.asynccontextmanager
async def failures_counted(ctx: Context, number: str) -> AsyncIterator[None]:
    """Wrong keys or emails for a case, per minute: beyond the limit they get 429. Only
    failures count: a stranger's tries never keep the requester, who has the right key, out
    of their case."""
    try:
        yield
    except NotFound:
        limit = ctx.settings.follow_limit_per_minute
        hit = await ctx.limiter.hit(f"follow-case:{number}", limit, 60, ctx.now())
        if isinstance(hit, int):
            raise too_many("too many requests", hit) from None
        raise


def too_many(what: str, retry_after: int) -> Throttled:
    refused = Throttled(f"{what}; try again in {retry_after} s", retry_after)
    # The body has always said it too, for clients that do not read headers.
    refused.extra["retry_after_s"] = retry_after
    return refused
