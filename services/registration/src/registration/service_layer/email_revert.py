"""Undoing an email change with the link sent to the address the account had before."""

from __future__ import annotations

from secop_runtime.aggregates import Duplicate

from registration.service_layer.context import Client, Context
from registration.service_layer.errors import Taken
from registration.service_layer.holders import taken_field
from registration.service_layer.links import checked_link, spend


async def revert_email_change(s: Context, token: str, client: Client) -> None:
    """The account gets that address back, any pending change is cancelled, and whoever
    moved it is shut out: every session ends, the password stops working (and any reset link
    with it) until the owner sets a new one from the link sent now to the restored address.
    Both addresses are told."""
    user, digest = await checked_link(s, "revert", token)
    now = s.now()
    key = user.restores_email_key()
    if key and await taken_field(s.users, {"email_key": key}, user.id):
        raise Taken("email")  # someone confirmed that address since: the desk must help
    await spend(s, digest, user.id, now)
    reset = s.link(now, s.settings.reset_ttl_s, user.id)
    try:
        await s.users.change(user.id, lambda u: s.events(u.revert_email_change(digest, now, reset)))
    except Duplicate:
        raise Taken("email") from None
    await s.record(user.id, "email_reverted", client, now)
