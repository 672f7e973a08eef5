"""Documents: GridFS storage, refusals that leave what is stored untouched, and who may read."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from secop_contracts.support import CaseAssigned, CaseResolved

from tests.integration.membership.conftest import (
    PDF,
    SUPPLIER_DOCS,
    new_nit,
    ready_account,
    supplier_form,
    upload,
)
from tests.integration.membership.test_accounts import decide, status_of
from tests.integration.membership.test_desk import case_opened, publish, requester
from tests.support.tokens import bearer
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


async def test_documents_are_read_by_members_buyers_and_reviewing_agents_and_outside_reads_listed(
    start_service, registry, infra, dev_keys
):
    """Any member of any active account could download every document of every active
    account: natural persons' ID scans, competitors' financial statements, entities' forms."""
    svc = await start_service("membership")
    ana, beto, caro, dora = [
        await registry.person(svc, n) for n in ("Ana P", "Beto Q", "Caro R", "Dora S")
    ]
    draft = (
        await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    ).json()["account_id"]
    await upload(svc, ana, draft, "rup")
    path = f"/accounts/{draft}/documents/rup"
    assert (await svc.client.get(path, headers=ana.headers)).status_code == 200
    assert (await upload(svc, beto, draft, "rup")).status_code == 403  # not its administrator
    assert (await svc.client.get(path)).status_code == 401

    # A natural person's supplier account, active on submission; a competitor; a buyer entity.
    person = (
        await svc.client.post(
            "/accounts",
            json=supplier_form(new_nit(), organisation_type="natural_person"),
            headers=beto.headers,
        )
    ).json()["account_id"]
    for doc in ("identity_document", *SUPPLIER_DOCS[1:]):
        assert (await upload(svc, beto, person, doc)).status_code == 201
    submitted = await svc.client.post(f"/accounts/{person}/submit", headers=beto.headers)
    assert submitted.status_code == 200, submitted.text
    await ready_account(svc, caro, "supplier")  # caro: a member of another active supplier
    entity = await ready_account(svc, dora, "entity")
    await decide(svc, infra, entity, "approve")
    await eventually(lambda: _active(svc, entity))

    # A natural person's account is named by their ID number: never in the public search.
    person_nit = (await svc.db["accounts"].find_one({"_id": person}))["nit"]
    assert (await svc.client.get("/accounts", params={"nit": person_nit})).json() == []
    own = await svc.client.get("/accounts", params={"nit": person_nit}, headers=beto.headers)
    assert [a["account_id"] for a in own.json()] == [person]
    statements = f"/accounts/{person}/documents/financial_statements"
    identity = f"/accounts/{person}/documents/identity_document"
    assert (await svc.client.get(statements, headers=caro.headers)).status_code == 403
    assert (await svc.client.get(statements, headers=dora.headers)).status_code == 200  # a buyer
    assert (await svc.client.get(identity, headers=dora.headers)).status_code == 403
    assert (await svc.client.get(identity, headers=beto.headers)).status_code == 200  # its own
    # An entity's documents stay within it, whoever asks (an active supplier's member here).
    entity_doc = f"/accounts/{entity}/documents/rut"
    assert (await svc.client.get(entity_doc, headers=beto.headers)).status_code == 403
    # A desk agent reads an entity's documents only while working its open activation case,
    # as support's events tell membership; the role alone, or another agent, reads nothing.
    olga_id = uuid.uuid4()
    agent = bearer(dev_keys, user_id=olga_id, username="agente", roles=("support_agent",))
    other_agent = bearer(dev_keys, username="otro.agente", roles=("support_agent",))
    waiting = await ready_account(svc, ana, "entity")
    review = f"/accounts/{waiting}/documents/rut"
    assert (await svc.client.get(review, headers=agent)).status_code == 403  # no case yet
    number, at = "CCE-2026-990001", datetime.now(UTC)
    await publish(infra, svc, case_opened(number, waiting, "", at, None, "entity_submitted"))
    assert (await svc.client.get(review, headers=agent)).status_code == 403  # not assigned
    await publish(infra, svc, case_assigned(number, waiting, olga_id, at + timedelta(seconds=1)))

    async def read_by_agent() -> bool:
        return (await svc.client.get(review, headers=agent)).status_code == 200

    await eventually(read_by_agent)
    assert (await svc.client.get(review, headers=other_agent)).status_code == 403
    assert (await svc.client.get(entity_doc, headers=agent)).status_code == 403  # not its case
    await publish(infra, svc, case_resolved(number, waiting, at + timedelta(seconds=2)))

    async def closed_to_agent() -> bool:
        return (await svc.client.get(review, headers=agent)).status_code == 403

    await eventually(closed_to_agent)

    # The supplier's administrator sees who read what from outside; nobody else does.
    reads = await svc.client.get(f"/accounts/{person}/document-reads", headers=beto.headers)
    assert reads.status_code == 200, reads.text
    [read] = reads.json()["items"]
    assert read["doc_type"] == "financial_statements" and read["reader_id"] == str(dora.user_id)
    assert read["reader_name"] == "Dora S" and read["reader_as"] == "buyer"
    assert (
        await svc.client.get(f"/accounts/{person}/document-reads", headers=dora.headers)
    ).status_code == 403
    agent_reads = await svc.client.get(f"/accounts/{waiting}/document-reads", headers=ana.headers)
    # (each read until the resolution arrived is listed: all of them the working agent's)
    assert {(r["reader_as"], r["reader_id"]) for r in agent_reads.json()["items"]} == {
        ("agent", str(olga_id))
    }


async def test_the_public_search_shows_active_accounts_and_to_a_user_their_own(
    start_service, registry, infra
):
    """The public search returned the ids of every account, drafts included."""
    svc = await start_service("membership")
    ana, beto = [await registry.person(svc, n) for n in ("Ana P", "Beto Q")]
    nit = new_nit()
    draft = (
        await svc.client.post("/accounts", json=supplier_form(nit), headers=ana.headers)
    ).json()["account_id"]
    assert (await svc.client.get("/accounts", params={"nit": nit})).json() == []
    assert (
        await svc.client.get("/accounts", params={"nit": nit}, headers=beto.headers)
    ).json() == []
    own = (await svc.client.get("/accounts", params={"nit": nit}, headers=ana.headers)).json()
    assert [a["account_id"] for a in own] == [draft] and own[0]["status"] == "draft"
    entity = await ready_account(svc, beto, "entity")
    found = await svc.client.get("/accounts", params={"name": "bello"})
    assert entity not in [a["account_id"] for a in found.json()]  # under review
    await decide(svc, infra, entity, "approve")
    await eventually(lambda: _active(svc, entity))
    found = await svc.client.get("/accounts", params={"name": "bello"})
    assert entity in [a["account_id"] for a in found.json()]
    bad = await svc.client.get(
        "/accounts", params={"nit": nit}, headers={"Authorization": "Bearer x"}
    )
    assert bad.status_code == 401  # a token sent must be valid, never silently anonymous


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


async def test_bodies_are_read_only_after_authorisation_and_oversize_is_always_413(
    start_service, registry
):
    """Multipart bodies were spooled to disk before the caller was authenticated; the 20 MiB
    cap applied to every route under /accounts/, JSON included; an oversized chunked body got
    400."""
    svc = await start_service("membership", document_max_bytes=4096)
    ana, beto = [await registry.person(svc, n) for n in ("Ana P", "Beto Q")]
    created = await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    account_id = created.json()["account_id"]
    path = f"/accounts/{account_id}/documents/rup"
    boundary = "secopboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def streamed(total: int, pulled: list[int]):
        async def chunks():  # no Content-Length: the server learns the size as it reads
            yield head
            sent = len(head)
            while sent < total:
                pulled.append(1)
                yield b"0" * 65536
                sent += 65536

        return chunks()

    for who in ({}, beto.headers):  # nobody, then a stranger to the account
        pulled: list[int] = []
        refused = await svc.client.put(
            path, content=streamed(5 * 2**20, pulled), headers={**multipart, **who}
        )
        assert refused.status_code in (401, 403), refused.text
        assert len(pulled) <= 1  # nothing past the first chunk was read

    pulled = []
    chunked = await svc.client.put(
        path, content=streamed(200_000, pulled), headers={**multipart, **ana.headers}
    )
    assert chunked.status_code == 413, chunked.text

    # JSON routes keep the small cap, under /accounts/ too.
    huge = {"website": "https://x.co/" + "a" * 300_000}
    patched = await svc.client.patch(f"/accounts/{account_id}", json=huge, headers=ana.headers)
    assert patched.status_code == 413
    nothing = await svc.client.put(path, content=b"", headers={**multipart, **ana.headers})
    assert nothing.status_code in (400, 422)


def case_assigned(number: str, account_id: str, agent: uuid.UUID, at: datetime) -> CaseAssigned:
    payload = {
        "case_number": number,
        "assignee_id": agent,
        "assigned_by": agent,
        "assigned_at": at,
        "account_id": account_id,
    }
    return CaseAssigned(producer="support", payload=payload)


def case_resolved(number: str, account_id: str, at: datetime) -> CaseResolved:
    payload = {
        "case_number": number,
        "resolution": "Activada",
        "requester": requester("mesa@example.co"),
        "resolved_by": uuid.uuid4(),
        "resolved_at": at,
        "account_id": account_id,
    }
    return CaseResolved(producer="support", payload=payload)
