"""The local view of users: reordered and redelivered registration events merge correctly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from membership.adapters.users import UserDirectory
from secop_contracts.registration import UserProfileUpdated

from tests.integration.membership.conftest import (
    confirmed_event,
    new_nit,
    registered,
    supplier_form,
    wait_for_user,
)
from tests.support.tokens import bearer

pytestmark = pytest.mark.integration


async def test_reordered_and_redelivered_user_events_leave_one_right_view(
    start_service, registry, dev_keys
):
    svc = await start_service("membership")
    user_id = uuid.uuid4()
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    signed_up = registered(user_id, "Ana Pérez", "ana@old.example.co", t0)
    confirmed = confirmed_event(
        user_id, "Ana Pérez", "ana@old.example.co", t0 + timedelta(minutes=1)
    )
    updated = UserProfileUpdated(
        producer="registration",
        occurred_at=t0 + timedelta(minutes=2),
        payload={
            "user_id": user_id,
            "changed_fields": ["email", "full_name"],
            "username": "ana",
            "full_name": "Ana Pérez Gómez",
            "email": "ana@new.example.co",
            "mobile_phone": "+573001112233",
            "time_zone": "America/Bogota",
            "updated_at": t0 + timedelta(minutes=2),
        },
    )

    # Newest first: the profile change, then the confirmation, then the sign-up.
    for event in (updated, confirmed, signed_up):
        await registry.publish(svc, event)
    await wait_for_user(svc, user_id, confirmed=True, facts=3)
    # Everything again (a redelivery after a crash, or a replay).
    for event in (signed_up, confirmed, updated):
        await registry.publish(svc, event)
    marker = confirmed_event(user_id, "Ana Pérez", "ana@old.example.co", t0)
    await registry.publish(svc, marker)
    await wait_for_user(svc, user_id, confirmed=True, facts=4)

    facts = await svc.db["user_facts"].count_documents({"user_id": str(user_id)})
    assert facts == 4  # three facts plus the marker: redelivery added nothing
    headers = bearer(dev_keys, user_id=user_id)
    created = await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=headers)
    assert created.status_code == 201  # confirmed, although the confirmation came "early"
    account_id = created.json()["account_id"]
    members = (await svc.client.get(f"/accounts/{account_id}/members", headers=headers)).json()
    assert [(m["full_name"], m["email"]) for m in members] == [
        ("Ana Pérez Gómez", "ana@new.example.co")
    ]


async def test_user_facts_recorded_again_in_a_batch_are_left_as_they_were(start_service):
    svc = await start_service("membership")
    directory = UserDirectory(svc.db)
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    first, second, third = (
        UserDirectory.fact(uuid.uuid4(), user_id, now + timedelta(seconds=i), {"full_name": n})
        for i, n in enumerate(("Ana", "Ana María", "Ana María Pérez"))
    )
    assert await directory.record(first, second) == 2
    changed = {**second, "fields": {"full_name": "tampered"}}
    assert await directory.record(changed, third) == 1  # only the new fact is stored
    view = await directory.get(user_id)
    assert view is not None and view["full_name"] == "Ana María Pérez"
    stored = await svc.db["user_facts"].find_one({"_id": second["_id"]})
    assert stored["fields"] == {"full_name": "Ana María"}
