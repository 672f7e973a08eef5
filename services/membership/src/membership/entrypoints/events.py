"""Event subscribers of the membership service."""

from __future__ import annotations

from secop_contracts.registration import UserConfirmed, UserProfileUpdated, UserRegistered
from secop_runtime.service import ServiceRuntime, track_revocations

from membership.adapters.users import UserDirectory


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's handlers (group and ack policy are set by the runtime)."""

    async def on_user_registered(event: UserRegistered) -> None:
        p = event.payload
        await UserDirectory(runtime.db).upsert(
            p.user_id,
            event.occurred_at,
            {
                "username": p.username,
                "full_name": p.full_name,
                "email": p.email,
                "document_type": p.document_type,
                "document_number": p.document_number,
                "time_zone": p.time_zone,
                "confirmed": False,
            },
        )

    async def on_user_confirmed(event: UserConfirmed) -> None:
        p = event.payload
        await UserDirectory(runtime.db).upsert(
            p.user_id,
            event.occurred_at,
            {
                "username": p.username,
                "full_name": p.full_name,
                "email": p.email,
                "confirmed": True,
            },
        )

    async def on_profile_updated(event: UserProfileUpdated) -> None:
        p = event.payload
        await UserDirectory(runtime.db).upsert(
            p.user_id,
            event.occurred_at,
            {
                "username": p.username,
                "full_name": p.full_name,
                "email": p.email,
                "time_zone": p.time_zone,
            },
        )

    runtime.subscribe(
        [UserRegistered],
        on_user_registered,
        "Keep a local view of each new user (name, email), to show administrators.",
    )
    runtime.subscribe([UserConfirmed], on_user_confirmed, "Mark the user's registration confirmed.")
    runtime.subscribe([UserProfileUpdated], on_profile_updated, "Follow name and email changes.")
    track_revocations(runtime)
