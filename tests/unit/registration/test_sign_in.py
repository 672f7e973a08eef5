"""Signing in over the fakes: a password reset that lands during a login wins."""

from __future__ import annotations

import pytest
from registration.adapters.fakes import FakeHasher
from registration.service_layer import sessions
from registration.service_layer.errors import BadCredentials

from tests.unit.registration.conftest import Registration
from tests.unit.registration.steps import CLIENT, NEW_PASSWORD, PASSWORD, confirmed_user


class ResetDuringLogin(FakeHasher):
    """A hasher whose stored hashes are all outdated, and the owner resets the password while
    the login rehashes the one it just checked (the slow step, argon2, in production)."""

    def __init__(self, reg: Registration, user_id: str) -> None:
        self.reg, self.user_id = reg, user_id

    def needs_rehash(self, stored: str) -> bool:
        return True

    async def hash(self, secret: str) -> str:
        if secret == PASSWORD:
            new = await super().hash(NEW_PASSWORD)
            now = self.reg.clock()
            await self.reg.ctx.users.change(
                self.user_id, lambda u: self.reg.ctx.events(u.set_password(new, "reset", now))
            )
        return await super().hash(secret)


async def test_a_reset_during_a_login_refuses_the_login_and_keeps_the_new_password(
    registration: Registration,
) -> None:
    reg = registration
    user_id = await confirmed_user(reg)
    reg.ctx.hasher = ResetDuringLogin(reg, user_id)
    with pytest.raises(BadCredentials):
        await sessions.sign_in(reg.ctx, "ana.0", PASSWORD, CLIENT)
    user = await reg.ctx.users.get(user_id)
    assert user is not None
    assert await FakeHasher().verify(user.password_hash, NEW_PASSWORD)
