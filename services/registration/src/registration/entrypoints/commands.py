"""Operator commands: ``python -m registration grant-role|revoke-role <username> <role>``.

They read the same environment as the service and write through the users' outbox, so the
running service's relay publishes ``UserRolesChanged`` (no broker connection needed here).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from secop_runtime.mongo import make_client
from secop_runtime.settings import secret

from registration.adapters.users import UserStore
from registration.config import Settings
from registration.service_layer.roles import UnknownUser, set_role


async def change_role(settings: Settings, username: str, role: str, *, grant: bool) -> list[str]:
    client = make_client(secret(settings.mongodb_uri), f"{settings.service_name}-cli")
    try:
        users = UserStore(client[settings.database_name])
        return await set_role(users, settings.service_name, username, role, grant=grant)
    finally:
        await client.close()


def _command(grant: bool) -> Callable[[list[str]], int]:
    verb = "grant-role" if grant else "revoke-role"

    def run(args: list[str]) -> int:
        if len(args) != 2:
            print(f"usage: python -m registration {verb} <username> <role>", file=sys.stderr)
            return 2
        username, role = args
        try:
            roles = asyncio.run(change_role(Settings(), username, role, grant=grant))
        except (ValueError, UnknownUser) as exc:
            print(
                f"{verb}: {exc if isinstance(exc, ValueError) else 'no such user'}", file=sys.stderr
            )
            return 1
        print(f"{username}: roles {roles or '[]'} (effective at the next login)")
        return 0

    return run


COMMANDS = {"grant-role": _command(True), "revoke-role": _command(False)}
