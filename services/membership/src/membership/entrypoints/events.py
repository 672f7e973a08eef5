"""Event subscribers of the membership service (group and ack policy are set by the runtime).

Every handler is safe to run twice: user facts are inserts keyed by event id, and decisions
only apply to an account still in the status they were meant for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from secop_contracts.registration import UserConfirmed, UserProfileUpdated, UserRegistered
from secop_contracts.support import (
    AccountActivationDecided,
    CaseAssigned,
    CaseMessageAdded,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    EntitySubmissionLinked,
    MixedProfileDecided,
)
from secop_runtime.auth import track_revocations
from secop_runtime.service import Late, ServiceRuntime

from membership.adapters.users import UserDirectory
from membership.service_layer import desk, lifecycle
from membership.service_layer.context import Context


def _identity(p: Any) -> dict[str, Any]:
    """The identity fields every user event carries (the newest fact's value wins)."""
    return {
        "username": p.username,
        "full_name": p.full_name,
        "email": p.email,
        "time_zone": p.time_zone,
    }


UserEvent = UserRegistered | UserConfirmed | UserProfileUpdated


def _fact(event: UserEvent) -> dict[str, Any]:
    """What a user event tells membership's local view of that user."""
    p = event.payload
    fields = _identity(p)
    if isinstance(event, UserRegistered):
        fields |= {"document_type": p.document_type, "document_number": p.document_number}
    return UserDirectory.fact(
        event.event_id,
        p.user_id,
        event.occurred_at,
        fields,
        confirmed=isinstance(event, UserConfirmed),
    )


def register(runtime: ServiceRuntime, context: Late[Context]) -> None:
    async def on_user_event(event: UserEvent) -> None:
        await context().users.record(_fact(event))

    async def on_user_events(events: Sequence[UserEvent]) -> None:
        await context().users.record(*(_fact(e) for e in events))

    async def on_activation_decided(event: AccountActivationDecided) -> None:
        await lifecycle.apply_activation_decision(context(), event)
        await desk.close_decided(context(), event)

    async def on_mixed_profile_decided(event: MixedProfileDecided) -> None:
        await lifecycle.apply_mixed_profile(context(), event)
        await desk.close_decided(context(), event)

    async def on_case_event(event: desk.CaseEvent) -> None:
        await desk.follow_case(context(), event)

    # A user fact's _id is its event's id: a redelivery inserts nothing, no processed mark is
    # needed, and a batch of them is one insert (the view merges facts by time, not arrival).
    for events, description in (
        ([UserRegistered], "Local view of each new user (name, email)."),
        ([UserConfirmed], "The user's registration is confirmed."),
        ([UserProfileUpdated], "Follow name and email changes."),
    ):
        runtime.subscribe(
            events, on_user_event, description, keyed_by_event=True, bulk=on_user_events
        )
    runtime.subscribe(
        [AccountActivationDecided],
        on_activation_decided,
        "The service desk's decision on an entity: active, changes requested or rejected.",
    )
    runtime.subscribe(
        [MixedProfileDecided], on_mixed_profile_decided, "Enable an entity's mixed profile."
    )
    runtime.subscribe(
        [
            CaseOpened,
            CaseAssigned,
            EntitySubmissionLinked,
            CaseMessageAdded,
            CaseResolved,
            CaseReopened,
        ],
        on_case_event,
        "Follow support cases about an account for its desk, tell the members who chose "
        "case updates (AccountCaseUpdated), and know which agent works each case (they may "
        "read the account's documents).",
    )
    track_revocations(runtime)
