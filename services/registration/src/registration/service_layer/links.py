"""Following an emailed link: find whose it is, check it, and spend it (single use).

A link is spent by a unique insert of its hash (``UsedTokens``), so two requests with one
link cannot both succeed; a spent link then answers "already used" rather than "unknown".
"""

from __future__ import annotations

from datetime import datetime

from registration.domain.tokens import Purpose, TokenProblem, owner_of, refused, token_hash
from registration.domain.user import User
from registration.service_layer.context import Context


async def link_holder(s: Context, purpose: Purpose, token: str, digest: str) -> User | None:
    """The user whose newest ``purpose`` link this is: read by the id the token names (by
    its hash for a link from before ids were in them). One read either way, whether or not
    the named user exists, so a made-up token tells nothing about ids."""
    owner = owner_of(token)
    if owner is None:
        return await s.users.find_one(**{f"{purpose}_hash": digest})
    user = await s.users.get(owner)
    return user if user is not None and getattr(user, f"{purpose}_hash") == digest else None


async def checked_link(s: Context, purpose: Purpose, token: str) -> tuple[User, str]:
    """The user a live link belongs to, and the link's hash; refuses any other link."""
    digest = token_hash(token)
    user = await link_holder(s, purpose, token, digest)
    if user is None:
        spent = await s.used_tokens.was_spent(digest)
        raise refused(TokenProblem.USED if spent else TokenProblem.UNKNOWN)
    problem = user.link_problem(purpose, digest, s.now())
    if problem is not None:
        raise refused(problem)
    return user, digest


async def spend(s: Context, digest: str, user_id: str, now: datetime) -> None:
    if not await s.used_tokens.spend(digest, user_id, now):
        raise refused(TokenProblem.USED)
