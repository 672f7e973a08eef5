"""Documents: GridFS storage, refusals that leave what is stored untouched, and who may read."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.membership.conftest import (
    PDF,
    new_nit,
    ready_account,
    supplier_form,
    upload,
)
from tests.integration.membership.test_accounts import decide, status_of
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_blocked_fake_and_oversized_files_are_refused_and_nothing_stored_changes(
    start_service, registry
):
    svc = await start_service("membership", document_max_bytes=4096)
    ana = await registry.person(svc)
    created = await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    account_id = created.json()["account_id"]
    path = f"/accounts/{account_id}/documents/rup"

    stored = await upload(svc, ana, account_id, "rup", PDF, "rup.pdf")
    assert stored.status_code == 201
    original = stored.json()
    assert original["size"] == len(PDF) and original["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert original["filename"] == "rup.pdf"

    refusals = {
        "blocked": await upload(svc, ana, account_id, "rup", b"MZ\x90\x00" * 10, "rup.exe"),
        "blocked_txt": await upload(svc, ana, account_id, "rup", b"plain", "rup.txt"),
        "fake_pdf": await upload(svc, ana, account_id, "rup", b"<html>not a pdf</html>", "a.pdf"),
        "png_named_pdf": await upload(
            svc, ana, account_id, "rup", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "b.pdf"
        ),
        "oversized": await upload(svc, ana, account_id, "rup", PDF + b"0" * 5000, "big.pdf"),
        "far_oversized": await upload(svc, ana, account_id, "rup", PDF + b"0" * 200_000),
        "not_a_doc_type": await upload(svc, ana, account_id, "selfie"),
    }
    assert {k: r.status_code for k, r in refusals.items()} == {
        "blocked": 415,
        "blocked_txt": 415,
        "fake_pdf": 415,
        "png_named_pdf": 415,
        "oversized": 413,
        "far_oversized": 413,
        "not_a_doc_type": 404,
    }
    assert "blocked" in refusals["blocked"].json()["detail"]
    assert "does not match" in refusals["fake_pdf"].json()["detail"]

    downloaded = await svc.client.get(path, headers=ana.headers)
    assert downloaded.status_code == 200 and downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert await svc.db["documents.files"].count_documents({}) == 1

    newer = PDF + b"% second version\n"
    replaced = await upload(svc, ana, account_id, "rup", newer, "rup-2025.pdf")
    assert replaced.status_code == 201 and replaced.json()["document_id"] != original["document_id"]
    assert (await svc.client.get(path, headers=ana.headers)).content == newer
    assert await svc.db["documents.files"].count_documents({}) == 1  # the old one is gone


async def test_documents_are_read_by_members_and_by_active_accounts_once_active(
    start_service, registry
):
    svc = await start_service("membership")
    ana, beto, caro = [await registry.person(svc, n) for n in ("Ana P", "Beto Q", "Caro R")]
    draft = (
        await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    ).json()["account_id"]
    await upload(svc, ana, draft, "rup")
    buyer = await ready_account(svc, beto, "supplier")  # another active account
    path = f"/accounts/{draft}/documents/rup"

    assert (await svc.client.get(path, headers=ana.headers)).status_code == 200
    assert (await svc.client.get(path, headers=beto.headers)).status_code == 403  # not active
    assert (await upload(svc, beto, draft, "rup")).status_code == 403  # not its administrator
    assert (await svc.client.get(path)).status_code == 401

    beto_reads = await svc.client.get(
        f"/accounts/{buyer}/documents/experience_certificate", headers=beto.headers
    )
    assert beto_reads.status_code == 200
    other = await svc.client.get(
        f"/accounts/{buyer}/documents/experience_certificate", headers=ana.headers
    )
    assert other.status_code == 403  # ana's only account is not active
    loner = await svc.client.get(f"/accounts/{buyer}/documents/rup", headers=caro.headers)
    assert loner.status_code == 403


async def test_the_directory_shows_active_suppliers_to_members_of_active_entities(
    start_service, registry, infra
):
    svc = await start_service("membership")
    ana = await registry.person(svc, "Ana P")
    beto = await registry.person(svc, "Beto Q")
    supplier = await ready_account(svc, ana, "supplier")
    entity = await ready_account(svc, beto, "entity")

    early = await svc.client.get("/directory/suppliers", headers=beto.headers)
    assert early.status_code == 403  # the entity is not active yet

    await decide(svc, infra, entity, "approve")
    await eventually(lambda: _active(svc, entity))
    page = await svc.client.get("/directory/suppliers", params={"q": "nandu"}, headers=beto.headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 1 and body["items"][0]["account_id"] == supplier
    assert len(body["items"][0]["documents"]) == 4
    assert (
        await svc.client.get("/directory/suppliers", params={"q": "zzz"}, headers=beto.headers)
    ).json()["total"] == 0
    doc = await svc.client.get(f"/accounts/{supplier}/documents/rut", headers=beto.headers)
    assert doc.status_code == 404  # not a supplier document
    doc = await svc.client.get(
        f"/accounts/{supplier}/documents/capacity_certificate", headers=beto.headers
    )
    assert doc.status_code == 200 and doc.content == PDF
    assert (await svc.client.get("/directory/suppliers", headers=ana.headers)).status_code == 403


async def _active(svc, account_id: str) -> bool:
    return await status_of(svc, account_id) == "active"
