"""The account's document library on the real database and broker: contents in GridFS with
their versions, refusals that leave what is stored untouched (file names, drafts, the byte
budget), removal that deletes every content, the removed documents' paged audit list and their
end, who outside the account reads and which versions (and is listed), and
``LibraryDocumentChanged`` on its topic."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from membership.adapters.library import library_store
from secop_contracts.membership import LibraryDocumentChanged

from tests.integration.membership.conftest import (
    PDF,
    new_nit,
    ready_account,
    supplier_form,
    upload,
)
from tests.integration.membership.test_accounts import decide, status_of
from tests.support.kafka import json_values, read_topic
from tests.support.tokens import bearer
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

#: Larger than every route's small body cap (256 KiB): only the uploads take it.
BIG = PDF + b"%" + b"0" * 300_000 + b"\n"


def pdf(n: int) -> bytes:
    return PDF + f"% version {n}\n".encode()


def add(svc, who, account_id, content=PDF, filename="brochure.pdf", title="Brochure 2026"):
    fields = {} if title is None else {"title": title}
    return svc.client.post(
        f"/accounts/{account_id}/library",
        data=fields,
        files={"file": (filename, content, "application/pdf")},
        headers=getattr(who, "headers", who),
    )


def replace(svc, who, account_id, document_id, content, filename="brochure.pdf"):
    return svc.client.put(
        f"/accounts/{account_id}/library/{document_id}",
        files={"file": (filename, content, "application/pdf")},
        headers=getattr(who, "headers", who),
    )


async def stored(svc, document_id: str) -> int:
    """How many contents of the library document GridFS holds."""
    return await svc.db["documents.files"].count_documents({"metadata.library_id": document_id})


async def stored_for(svc, account_id: str) -> int:
    """How many library contents of the account GridFS holds."""
    query = {"metadata.account_id": account_id, "metadata.library_id": {"$exists": True}}
    return await svc.db["documents.files"].count_documents(query)


def refused_field(response) -> str:
    [problem] = response.json()["detail"]
    return problem["loc"][-1]


async def library_drained(svc) -> bool:
    return not await svc.db["library"].count_documents({"_outbox_pending": {"$exists": True}})


async def member(svc, admin, account_id: str, who, roles: list[str]) -> None:
    asked = await svc.client.post(f"/accounts/{account_id}/access-requests", headers=who.headers)
    assert asked.status_code == 201, asked.text
    accepted = await svc.client.post(
        f"/accounts/{account_id}/members/{who.user_id}/accept",
        json={"roles": roles},
        headers=admin.headers,
    )
    assert accepted.status_code == 200, accepted.text


async def test_versions_are_kept_refusals_change_nothing_and_removal_deletes_every_content(
    start_service, registry, infra
):
    svc = await start_service(
        "membership", document_max_bytes=len(BIG) + 1000, library_versions_kept=2
    )
    ana, beto, caro = [await registry.person(svc, n) for n in ("Ana Admin", "Beto M", "Caro X")]
    supplier = await ready_account(svc, ana, "supplier")
    await member(svc, ana, supplier, beto, ["supplier"])
    chosen = await svc.client.put(
        f"/accounts/{supplier}/notices",
        json={"notices": ["access_requests", "activation", "document_changes"]},
        headers=ana.headers,
    )
    assert chosen.status_code == 200, chosen.text
    base = f"/accounts/{supplier}/library"

    created = await add(svc, ana, supplier, BIG, "brochure-1.pdf", "  Brochure 2026 ")
    assert created.status_code == 201, created.text
    doc = created.json()
    doc_id, path = doc["document_id"], f"{base}/{doc['document_id']}"
    assert doc["title"] == "Brochure 2026" and doc["versions_count"] == 1
    assert doc["current"]["sha256"] == hashlib.sha256(BIG).hexdigest()
    assert doc["current"]["size"] == len(BIG) and doc["current"]["uploaded_by"] == str(ana.user_id)
    assert await stored(svc, doc_id) == 1

    refusals = {
        "fake_pdf": await add(svc, ana, supplier, b"<html>not a pdf</html>", "a.pdf"),
        "blocked": await add(svc, ana, supplier, b"MZ\x90\x00" * 10, "setup.exe"),
        "oversized": await add(svc, ana, supplier, BIG + b"0" * 2000),
        "no_title": await add(svc, ana, supplier, title=None),
        "bad_title": await add(svc, ana, supplier, title="Informe\u202egnp.exe"),
        "long_title": await add(svc, ana, supplier, title="x" * 201),
        "member": await add(svc, beto, supplier),
        "stranger": await add(svc, caro, supplier),
        "nobody": await add(svc, {}, supplier),
        "replace_fake": await replace(svc, ana, supplier, doc_id, b"\x89PNG\r\n\x1a\n" + b"0" * 64),
        "replace_member": await replace(svc, beto, supplier, doc_id, pdf(2)),
        "replace_unknown": await replace(svc, ana, supplier, supplier, pdf(2)),
        "bidi_name": await add(svc, ana, supplier, filename="acta\u202efdp.exe.pdf"),
        "long_name": await add(svc, ana, supplier, filename="x" * 252 + ".pdf"),
        "replace_bidi_name": await replace(svc, ana, supplier, doc_id, pdf(2), "a\u200b.pdf"),
    }
    assert {k: r.status_code for k, r in refusals.items()} == {
        "fake_pdf": 415,
        "blocked": 415,
        "oversized": 413,
        "no_title": 422,
        "bad_title": 422,
        "long_title": 422,
        "member": 403,
        "stranger": 403,
        "nobody": 401,
        "replace_fake": 415,
        "replace_member": 403,
        "replace_unknown": 404,
        "bidi_name": 422,
        "long_name": 422,
        "replace_bidi_name": 422,
    }
    for name in ("bidi_name", "long_name", "replace_bidi_name"):
        assert refused_field(refusals[name]) == "file", refusals[name].text
        assert "name" in refusals[name].text
    current = await svc.client.get(f"{path}/content", headers=beto.headers)  # a member reads
    assert current.status_code == 200 and current.content == BIG
    assert await stored(svc, doc_id) == 1

    second = await replace(svc, ana, supplier, doc_id, pdf(2), "brochure-2.pdf")
    assert second.status_code == 201, second.text
    assert second.json()["current"]["version"] == 2 and second.json()["versions_count"] == 2
    old = await svc.client.get(f"{path}/versions/1/content", headers=beto.headers)
    assert old.status_code == 200 and old.content == BIG
    assert old.headers["x-document-sha256"] == hashlib.sha256(BIG).hexdigest()
    assert old.headers["x-content-type-options"] == "nosniff"
    assert 'filename="brochure-1.pdf"' in old.headers["content-disposition"]
    new = await svc.client.get(f"{path}/content", headers=beto.headers)
    assert new.content == pdf(2) and new.headers["x-document-sha256"] == (
        hashlib.sha256(pdf(2)).hexdigest()
    )

    third = await replace(svc, ana, supplier, doc_id, pdf(3), "brochure-3.pdf")
    assert third.status_code == 201, third.text
    dropped = await svc.client.get(f"{path}/versions/1/content", headers=ana.headers)
    assert dropped.status_code == 404  # beyond LIBRARY_VERSIONS_KEPT: content and metadata gone
    assert await stored(svc, doc_id) == 2
    history = (await svc.client.get(path, headers=beto.headers)).json()
    assert [(v["version"], v["sha256"]) for v in history["versions"]] == [
        (3, hashlib.sha256(pdf(3)).hexdigest()),
        (2, hashlib.sha256(pdf(2)).hexdigest()),
    ]
    assert history["versions"][0]["uploaded_by_name"] == "Ana Admin"

    assert (await svc.client.delete(path, headers=beto.headers)).status_code == 403
    assert (await svc.client.delete(path, headers=ana.headers)).status_code == 204
    assert await stored(svc, doc_id) == 0  # every version's content is gone
    assert (await svc.client.get(f"{path}/content", headers=ana.headers)).status_code == 404
    assert (
        await svc.client.get(f"{path}/versions/3/content", headers=ana.headers)
    ).status_code == 404
    assert (await svc.client.get(base, headers=beto.headers)).json() == []
    audit = await svc.client.get(base, params={"removed": "true"}, headers=ana.headers)
    assert [(d["document_id"], d["removed"]) for d in audit.json()] == [(doc_id, True)]
    hidden = await svc.client.get(base, params={"removed": "true"}, headers=beto.headers)
    assert hidden.status_code == 403
    assert (await svc.client.delete(path, headers=ana.headers)).status_code == 404

    await eventually(lambda: library_drained(svc), what="the library's outbox")
    records = await read_topic(
        infra.kafka_bootstrap, svc.settings.topic("LibraryDocumentChanged"), at_least=4
    )
    events = json_values(records)
    assert [(e["payload"]["action"], e["payload"]["version"]) for e in events] == [
        ("added", 1),
        ("replaced", 2),
        ("replaced", 3),
        ("removed", 3),
    ]
    assert {r.key.decode() for r in records} == {supplier}
    p = events[1]["payload"]
    assert p["document_id"] == doc_id and p["title"] == "Brochure 2026"
    assert p["filename"] == "brochure-2.pdf" and p["sha256"] == hashlib.sha256(pdf(2)).hexdigest()
    assert p["changed_by"] == str(ana.user_id)
    assert [r["email"] for r in p["notice_recipients"]] == [ana.email]
    schema = LibraryDocumentChanged.model_json_schema()["$defs"]["LibraryDocumentChangedPayload"]
    for field in ("title", "filename", "account_name", "nit"):
        assert schema["properties"][field]["x-personal-data"], field


async def test_active_buyers_read_an_active_suppliers_library_and_the_read_is_listed(
    start_service, registry, infra, dev_keys
):
    svc = await start_service("membership")
    sara, ena, caro = [await registry.person(svc, n) for n in ("Sara S", "Ena E", "Caro C")]
    supplier = await ready_account(svc, sara, "supplier")
    await ready_account(svc, caro, "supplier")  # Caro: a member of a competing supplier
    entity = await ready_account(svc, ena, "entity")
    early = (await add(svc, sara, supplier, pdf(1))).json()["document_id"]
    entity_doc = (await add(svc, ena, entity, pdf(2))).json()["document_id"]
    agent = bearer(dev_keys, username="agente", roles=("support_agent",))
    content = f"/accounts/{supplier}/library/{early}/content"
    # While the entity waits for the desk its members are no buyers yet; the agent reviewing
    # it reads its registration documents, never its library.
    assert (await svc.client.get(content, headers=ena.headers)).status_code == 403
    entity_content = f"/accounts/{entity}/library/{entity_doc}/content"
    assert (await svc.client.get(entity_content, headers=agent)).status_code == 403

    await decide(svc, infra, entity, "approve")
    await eventually(lambda: _active(svc, entity), what="the activation")
    listed = await svc.client.get(f"/accounts/{supplier}/library", headers=ena.headers)
    assert listed.status_code == 200, listed.text
    [seen] = listed.json()
    assert seen["document_id"] == early and seen["current"]["uploaded_by"] is None  # no staff
    read = await svc.client.get(content, headers=ena.headers)
    assert read.status_code == 200 and read.content == pdf(1)
    assert read.headers["x-document-sha256"] == hashlib.sha256(pdf(1)).hexdigest()

    # A new version (personal data taken out): outside the account the old one is gone.
    replaced = await replace(svc, sara, supplier, early, pdf(3), "sin-datos.pdf")
    assert replaced.status_code == 201, replaced.text
    versions = f"/accounts/{supplier}/library/{early}/versions"
    assert (await svc.client.get(f"{versions}/1/content", headers=ena.headers)).status_code == 404
    current = await svc.client.get(f"{versions}/2/content", headers=ena.headers)
    assert current.status_code == 200 and current.content == pdf(3)
    seen = (
        await svc.client.get(f"/accounts/{supplier}/library/{early}", headers=ena.headers)
    ).json()
    assert [v["filename"] for v in seen["versions"]] == ["sin-datos.pdf"]
    assert seen["versions_count"] == 1
    old = await svc.client.get(f"{versions}/1/content", headers=sara.headers)  # a member
    assert old.status_code == 200 and old.content == pdf(1)

    for who in (caro.headers, agent):  # a competitor, a desk agent
        assert (await svc.client.get(content, headers=who)).status_code == 403
        listing = await svc.client.get(f"/accounts/{supplier}/library", headers=who)
        assert listing.status_code == 403
    assert (await svc.client.get(entity_content, headers=sara.headers)).status_code == 403
    # Another account's document under this account's path is unknown.
    elsewhere = f"/accounts/{entity}/library/{early}/content"
    assert (await svc.client.get(elsewhere, headers=ena.headers)).status_code == 404

    reads = await svc.client.get(f"/accounts/{supplier}/document-reads", headers=sara.headers)
    assert reads.status_code == 200, reads.text
    items = reads.json()["items"]
    assert len(items) == 2  # the current version, twice; the refused one is no read
    for one in items:
        assert one["doc_type"] == f"library:{early}" and one["reader_id"] == str(ena.user_id)
        assert one["reader_name"] == "Ena E" and one["reader_as"] == "buyer"


async def test_a_draft_has_no_library_and_a_library_holds_its_byte_budget(start_service, registry):
    svc = await start_service("membership", library_max_bytes=2 * len(pdf(1)))
    ana = await registry.person(svc, "Ana Admin")
    created = await svc.client.post("/accounts", json=supplier_form(new_nit()), headers=ana.headers)
    assert created.status_code == 201, created.text
    draft = created.json()["account_id"]
    refused = await add(svc, ana, draft)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the library opens once the account is submitted"
    assert await stored_for(svc, draft) == 0
    assert (await svc.client.get(f"/accounts/{draft}/library", headers=ana.headers)).json() == []
    # The registration documents' names are checked as the library's.
    bad_name = await upload(svc, ana, draft, "rup", filename="rup\u202efdp.pdf")
    assert bad_name.status_code == 422 and refused_field(bad_name) == "file"

    supplier = await ready_account(svc, ana, "supplier")
    for n in (1, 2):
        assert (await add(svc, ana, supplier, pdf(n), title=f"Doc {n}")).status_code == 201
    full = await add(svc, ana, supplier, pdf(3), title="Doc 3")
    assert full.status_code == 409
    budget = 2 * len(pdf(1))
    assert f"budget of {budget} bytes, of which {budget} are used" in full.json()["detail"]
    assert "remove documents" in full.json()["detail"]
    assert await stored_for(svc, supplier) == 2


async def test_removed_documents_are_listed_by_page_newest_first_and_go_after_their_retention(
    start_service, registry
):
    svc = await start_service("membership")
    ana, beto = [await registry.person(svc, n) for n in ("Ana Admin", "Beto M")]
    supplier = await ready_account(svc, ana, "supplier")
    base = f"/accounts/{supplier}/library"
    ids = []
    for n in range(4):
        added = await add(svc, ana, supplier, pdf(n), title=f"Doc {n}")
        assert added.status_code == 201, added.text
        ids.append(added.json()["document_id"])
    for doc_id in ids[:2]:
        assert (await svc.client.delete(f"{base}/{doc_id}", headers=ana.headers)).status_code == 204
    newest_first = [ids[1], ids[0], ids[3], ids[2]]

    pages = []
    for page in (1, 2):
        listed = await svc.client.get(
            base, params={"removed": "true", "page": page, "size": 3}, headers=ana.headers
        )
        assert listed.status_code == 200, listed.text
        assert listed.headers["x-total-count"] == "4"
        pages.append([d["document_id"] for d in listed.json()])
    assert pages == [newest_first[:3], newest_first[3:]]
    assert [
        d["removed"]
        for d in (
            await svc.client.get(base, params={"removed": "true"}, headers=ana.headers)
        ).json()
    ] == [True, True, False, False]
    too_big = await svc.client.get(
        base, params={"removed": "true", "size": 101}, headers=ana.headers
    )
    assert too_big.status_code == 422
    hidden = await svc.client.get(base, params={"removed": "true"}, headers=beto.headers)
    assert hidden.status_code == 403

    await eventually(lambda: library_drained(svc), what="the library's outbox")
    await svc.runtime.maintain_once()  # removed just now: within LIBRARY_REMOVED_RETENTION_DAYS
    assert await svc.db["library"].count_documents({"account_id": supplier}) == 4
    # the maintenance pass's query on the real database, with a cutoff past their removal
    later = datetime.now(UTC) + timedelta(days=1)
    assert await library_store(svc.db).prune_removed(later) >= 2
    left = await svc.client.get(base, params={"removed": "true"}, headers=ana.headers)
    assert [d["document_id"] for d in left.json()] == [ids[3], ids[2]]


async def _active(svc, account_id: str) -> bool:
    return await status_of(svc, account_id) == "active"
