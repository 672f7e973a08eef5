"""Event subscribers of the membership service (group and ack policy are set by the runtime).

Every handler is safe to run twice: user facts are inserts keyed by event id, and decisions
only apply to an account still in the status they were meant for.
"""

from __future__ import annotations

from typing import Any

from secop_contracts.registration import UserConfirmed, UserProfileUpdated, UserRegistered
from secop_contracts.support import AccountActivationDecided, MixedProfileDecided
from secop_runtime.service import ServiceRuntime, track_revocations

from membership.adapters.users import UserDirectory
from membership.service_layer import lifecycle
from membership.service_layer.common import Uow


def _identity(p: Any) -> dict[str, Any]:
    """The identity fields every user event carries (the newest fact's value wins)."""
    return {
        "username": p.username,
        "full_name": p.full_name,
        "email": p.email,
        "time_zone": p.time_zone,
    }


def register(runtime: ServiceRuntime) -> None:
    async def on_user_registered(event: UserRegistered) -> None:
        p = event.payload
        fields = {
            **_identity(p),
            "document_type": p.document_type,
            "document_number": p.document_number,
        }
        await UserDirectory(runtime.db).record(event.event_id, p.user_id, event.occurred_at, fields)

    async def on_user_confirmed(event: UserConfirmed) -> None:
        p = event.payload
        await UserDirectory(runtime.db).record(
            event.event_id, p.user_id, event.occurred_at, _identity(p), confirmed=True
        )

    async def on_profile_updated(event: UserProfileUpdated) -> None:
        p = event.payload
        await UserDirectory(runtime.db).record(
            event.event_id, p.user_id, event.occurred_at, _identity(p)
        )

    async def on_activation_decided(event: AccountActivationDecided) -> None:
        await lifecycle.apply_activation_decision(Uow.of(runtime), event)

    async def on_mixed_profile_decided(event: MixedProfileDecided) -> None:
        await lifecycle.apply_mixed_profile(Uow.of(runtime), event)

    # A user fact's _id is its event's id: a redelivery inserts nothing, no processed mark needed.
    runtime.subscribe(
        [UserRegistered],
        on_user_registered,
        "Local view of each new user (name, email).",
        keyed_by_event=True,
    )
    runtime.subscribe(
        [UserConfirmed],
        on_user_confirmed,
        "The user's registration is confirmed.",
        keyed_by_event=True,
    )
    runtime.subscribe(
        [UserProfileUpdated],
        on_profile_updated,
        "Follow name and email changes.",
        keyed_by_event=True,
    )
    runtime.subscribe(
        [AccountActivationDecided],
        on_activation_decided,
        "The service desk's decision on an entity: active, changes requested or rejected.",
    )
    runtime.subscribe(
        [MixedProfileDecided], on_mixed_profile_decided, "Enable an entity's mixed profile."
    )
    track_revocations(runtime)
