"""Accounts through the service layer over the fakes: creation, NIT conflicts, drafts,
"Finalizar" and the service desk's decisions."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from membership.domain.documents import FileRefused
from membership.domain.errors import TooManyDrafts
from membership.service_layer import accounts, documents, lifecycle
from secop_contracts.membership import AccountActivated, EntitySubmitted
from secop_contracts.support import AccountActivationDecided
from secop_runtime.errors import Conflict, Incomplete, Invalid, Refused

from tests.unit.membership.conftest import (
    ENTITY_DOCS,
    PDF,
    SUPPLIER_DOCS,
    People,
    entity_form,
    fake_context,
    stranger,
    supplier_form,
)

pytestmark = pytest.mark.unit


async def upload(ctx, who, account_id, doc_type, content=PDF, filename="doc.pdf"):
    return await documents.upload_document(
        ctx, who, account_id, doc_type, filename, io.BytesIO(content), len(content)
    )


async def ready(ctx, admin, form):
    account = await accounts.create_account(ctx, admin, form)
    for doc in SUPPLIER_DOCS if form["kind"] == "supplier" else ENTITY_DOCS:
        await upload(ctx, admin, account.id, doc)
    return account.id


def desk(account_id: str, decision: str) -> AccountActivationDecided:
    return AccountActivationDecided(
        producer="support",
        payload={
            "case_number": "CCE-2026-000001",
            "account_id": account_id,
            "decision": decision,
            "message": "ok",
            "agent_id": uuid.uuid4(),
            "decided_at": datetime.now(UTC),
        },
    )


async def test_a_new_draft_is_normalised_and_its_founder_administers_it(ctx, person):
    ana = person("Ana Pérez")
    account = await accounts.create_account(ctx, ana, supplier_form("900123456"))
    stored = await ctx.accounts.get(account.id)
    assert stored.status == "draft" and stored.legal_name == "CONSTRUCCIONES NANDU SAS"
    assert stored.administrators == [str(ana.user_id)] and stored.draft_slot
    with pytest.raises(Refused, match="not known here yet"):
        await accounts.create_account(ctx, stranger(), supplier_form("900123457"))
    with pytest.raises(Incomplete) as bad:
        await accounts.create_account(
            ctx, ana, supplier_form("900123456-7", department="Atlantida", sector="X")
        )
    assert {f for f, _ in bad.value.problems} == {"nit", "department", "sector"}


async def test_a_nit_has_one_live_account_named_only_to_its_own_members(ctx, person):
    ana, beto = person("Ana"), person("Beto")
    first = await accounts.create_account(ctx, ana, entity_form("800100200"))
    with pytest.raises(Conflict) as mine:
        await accounts.create_account(ctx, ana, entity_form("800100200"))
    with pytest.raises(Conflict) as theirs:
        await accounts.create_account(ctx, beto, entity_form("800100200"))
    assert mine.value.extra["account_id"] == first.id
    assert theirs.value.extra["account_id"] is None  # a draft is nobody else's business


async def test_drafts_are_few_per_user_even_when_created_at_once():
    ctx = fake_context(max_drafts_per_user=2)
    ana = People(ctx)("Ana")
    burst = await asyncio.gather(
        *(accounts.create_account(ctx, ana, supplier_form(f"90000000{i}")) for i in range(4)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in burst) == [
        "Account",
        "Account",
        "TooManyDrafts",
        "TooManyDrafts",
    ]
    refused = next(r for r in burst if isinstance(r, TooManyDrafts))
    assert refused.body()["detail"][0]["type"] == "too_many_drafts"
    # The refused drafts' NITs are free again.
    assert len(ctx.nit_claims.claims) == 2


async def test_discarded_and_expired_drafts_release_their_nit(ctx, person):
    ana, beto = person("Ana"), person("Beto")
    draft = await accounts.create_account(ctx, ana, supplier_form("900200300"))
    await upload(ctx, ana, draft.id, "rup")
    with pytest.raises(Refused):
        await accounts.discard_draft(ctx, beto, draft.id)
    await accounts.discard_draft(ctx, ana, draft.id)
    assert await ctx.accounts.get(draft.id) is None and ctx.files.files == {}
    again = await accounts.create_account(ctx, beto, supplier_form("900200300"))

    assert await accounts.expire_drafts(ctx, datetime.now(UTC)) == 0
    assert await accounts.expire_drafts(ctx, datetime.now(UTC) + timedelta(days=31)) == 1
    assert await ctx.accounts.get(again.id) is None
    assert "900200300" not in ctx.nit_claims.claims


async def test_finalizar_lists_everything_missing_then_a_supplier_is_active(ctx, person):
    ana = person("Ana")
    form = supplier_form("900300400", tax_regime=None)
    account = await accounts.create_account(ctx, ana, {k: v for k, v in form.items() if v})
    await upload(ctx, ana, account.id, "rup")
    with pytest.raises(Incomplete) as incomplete:
        await lifecycle.submit_account(ctx, ana, account.id)
    assert {f for f, _ in incomplete.value.problems} == {
        "tax_regime",
        *(f"documents.{d}" for d in SUPPLIER_DOCS),
    }
    await accounts.edit_account(ctx, ana, account.id, {"tax_regime": "ordinario"})
    for doc in SUPPLIER_DOCS:
        await upload(ctx, ana, account.id, doc)

    submitted = await lifecycle.submit_account(ctx, ana, account.id)

    assert submitted.status == "active" and submitted.draft_slot is None
    (event,) = ctx.accounts.events
    assert isinstance(event, AccountActivated)
    assert [str(a.user_id) for a in event.payload.administrators] == [str(ana.user_id)]
    with pytest.raises(Conflict):
        await lifecycle.submit_account(ctx, ana, account.id)
    with pytest.raises(Conflict):
        await accounts.edit_account(ctx, ana, account.id, {"website": "https://x.co"})
    with pytest.raises(Conflict, match="fixed"):
        await upload(ctx, ana, account.id, "rup")


async def test_refused_files_leave_the_stored_one_and_a_replacement_drops_the_old(ctx, person):
    ana = person("Ana")
    account = await accounts.create_account(ctx, ana, supplier_form("900400500"))
    first = await upload(ctx, ana, account.id, "rup")
    with pytest.raises(FileRefused):
        await upload(ctx, ana, account.id, "rup", b"<html>", "fake.pdf")
    with pytest.raises(Invalid):
        await accounts.edit_account(ctx, ana, account.id, {"nit": "900400501"})
    with pytest.raises(Incomplete):
        await accounts.edit_account(ctx, ana, account.id, {"legal_name": None})
    second = await upload(ctx, ana, account.id, "rup", PDF + b"%2")
    assert list(ctx.files.files) == [second["document_id"]] != [first["document_id"]]


async def test_an_entity_follows_the_desk_once_and_a_rejection_frees_its_nit(ctx, person):
    ana = person("Ana")
    entity = await ready(ctx, ana, entity_form("800200300"))
    await lifecycle.submit_account(ctx, ana, entity)
    await lifecycle.apply_activation_decision(ctx, desk(entity, "request_changes"))
    await accounts.edit_account(ctx, ana, entity, {"sector": "Hacienda"})
    await lifecycle.submit_account(ctx, ana, entity)
    submitted = [e for e in ctx.accounts.events if isinstance(e, EntitySubmitted)]
    assert [e.payload.resubmission for e in submitted] == [False, True]
    assert sorted(d.doc_type for d in submitted[0].payload.documents) == sorted(ENTITY_DOCS)

    await lifecycle.apply_activation_decision(ctx, desk(entity, "reject"))
    await lifecycle.apply_activation_decision(ctx, desk(entity, "approve"))  # too late
    await lifecycle.apply_activation_decision(ctx, desk(str(uuid.uuid4()), "approve"))

    assert (await ctx.accounts.get(entity)).status == "rejected"
    assert "800200300" not in ctx.nit_claims.claims
    assert (await accounts.create_account(ctx, ana, entity_form("800200300"))).status == "draft"
