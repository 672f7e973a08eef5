"""Confirming a sign-up (or a new email) with the emailed link, and sending a new link."""

from __future__ import annotations

from secop_runtime.aggregates import Duplicate

from registration.domain import identity
from registration.domain.tokens import Link
from registration.domain.user import User
from registration.domain.user_state import ACTIVE, PENDING
from registration.service_layer.context import Context
from registration.service_layer.errors import Taken
from registration.service_layer.holders import taken_field
from registration.service_layer.links import checked_link, spend


async def confirm(s: Context, token: str) -> str:
    """The link's user takes what it claims (a sign-up's email and document, or a new
    address): a confirmed user who holds any of it first wins (409 naming it)."""
    user, digest = await checked_link(s, "confirm", token)
    now = s.now()
    claims = user.claims()
    if claims and (field := await taken_field(s.users, claims, user.id)):
        raise Taken(field)  # a polite check before spending the link; the indexes decide
    await spend(s, digest, user.id, now)
    revert = s.link(now, s.settings.email_revert_ttl_s, user.id)  # an email change's way back
    try:
        await s.users.change(user.id, lambda u: s.events(u.confirm(digest, now, revert)))
    except Duplicate:
        raise Taken(await taken_field(s.users, claims, user.id) or "username") from None
    return ACTIVE


async def resend_confirmation(s: Context, username_or_email: str) -> None:
    """A fresh link for each pending sign-up that matches (the older links stop working);
    silent otherwise. By email, every pending sign-up of that address gets its own, naming
    its username: one of them may be a stranger's, and the person must see which is theirs."""
    value = username_or_email.strip()
    if "@" in value:  # a pending sign-up claims its address (older ones hold it)
        key = identity.email_key(value)
        users = await s.users.find(limit=5, claim_email_key=key, status=PENDING)
        users += await s.users.find(limit=1, email_key=key, status=PENDING)
    else:
        users = await s.users.find(limit=1, username=value.lower(), status=PENDING)
    now = s.now()
    for user in users:
        if user.awaits_sign_up_link and await s.may_email(user.id, "confirmation", now):
            await _reissue(s, user, s.link(now, s.settings.confirmation_ttl_s, user.id))


async def _reissue(s: Context, user: User, link: Link) -> None:
    await s.users.change(user.id, lambda u: s.events(u.reissue_confirmation(link)))
