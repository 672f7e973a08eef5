"""Accounts stored before the account became one aggregate (issue 18) keep their roster and
documents: both are folded into the account at start."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from membership.adapters.accounts import account_store
from membership.adapters.legacy import fold_legacy_accounts

pytestmark = pytest.mark.integration


async def test_an_account_from_before_versions_keeps_its_members_and_documents(
    start_service, registry
):
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana Antigua")
    account_id, at = str(uuid.uuid4()), datetime.now(UTC)
    await svc.db["accounts"].insert_one(
        {
            "_id": account_id,
            "kind": "supplier",
            "status": "active",
            "legal_name": "VIEJA SAS",
            "search_key": "vieja sas",
            "nit": "811222333",
            "country": "CO",
            "branch": None,
            "mixed_profile": False,
            "submissions": 1,
            "created_by": str(ana.user_id),
            "created_at": at,
            "updated_at": at,
        }
    )
    await svc.db["memberships"].insert_one(
        {
            "_id": str(uuid.uuid4()),
            "account_id": account_id,
            "user_id": str(ana.user_id),
            "status": "accepted",
            "roles": ["administrator"],
            "requested_at": at,
            "accepted_at": at,
            "status_changed_at": at,
            "live_key": f"{account_id}:{ana.user_id}",
            "founder": True,
        }
    )
    await svc.db["account_documents"].insert_one(
        {
            "_id": f"{account_id}:rut",
            "account_id": account_id,
            "doc_type": "rup",
            "document_id": "0123456789abcdef01234567",
            "filename": "rup.pdf",
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "0" * 64,
            "uploaded_at": at,
            "uploaded_by": str(ana.user_id),
        }
    )

    assert await fold_legacy_accounts(svc.db, account_store(svc.db)) == 1
    assert await fold_legacy_accounts(svc.db, account_store(svc.db)) == 0  # once

    form = await svc.client.get(f"/accounts/{account_id}", headers=ana.headers)
    assert form.status_code == 200, form.text
    assert [d["doc_type"] for d in form.json()["documents"]] == ["rup"]
    members = await svc.client.get(f"/accounts/{account_id}/members", headers=ana.headers)
    assert [m["roles"] for m in members.json()] == [["administrator"]]
    mine = (await svc.client.get("/users/me/memberships", headers=ana.headers)).json()
    assert [m["account_id"] for m in mine] == [account_id]
