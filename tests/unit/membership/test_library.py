"""The account's document library through the service layer over the fakes: administrators
add, replace and remove; members read; the bounds on documents and versions; what a refused or
losing upload leaves; who outside the account reads; the events and whom they address."""

from __future__ import annotations

import asyncio
import hashlib
import io

import pytest
from membership.domain.documents import SUPPORT_AGENT, FileRefused
from membership.domain.library import LibraryDocument
from membership.entrypoints.library import attachment
from membership.service_layer import desk, documents, library, lifecycle
from secop_contracts.membership import LibraryDocumentChanged
from secop_runtime.aggregates import MemoryStore
from secop_runtime.errors import Conflict, Invalid, NotFound, Refused, TooLarge

from tests.unit.membership.conftest import (
    PDF,
    People,
    entity_form,
    fake_context,
    supplier_form,
)
from tests.unit.membership.test_account_use_cases import desk as desk_decision
from tests.unit.membership.test_account_use_cases import ready
from tests.unit.membership.test_roster_use_cases import accepted_member

pytestmark = pytest.mark.unit


class RacingLibrary(MemoryStore[LibraryDocument]):
    """Other tasks run between a load and its save, as against the database."""

    async def get(self, aggregate_id: str) -> LibraryDocument | None:
        found = await super().get(aggregate_id)
        await asyncio.sleep(0)
        return found

    async def find(self, *, limit: int = 100, **equals) -> list[LibraryDocument]:
        found = await super().find(limit=limit, **equals)
        await asyncio.sleep(0)
        return found


def racing(**settings):
    ctx = fake_context(**settings)
    ctx.library = RacingLibrary(LibraryDocument, unique=("slot",))
    return ctx


@pytest.fixture
def ctx():
    return racing()


def pdf(n: int) -> bytes:
    return PDF + f"% version {n}\n".encode()


async def add(ctx, who, account_id, title="Brochure 2026", content=PDF, filename="brochure.pdf"):
    return await library.add_document(
        ctx, who, account_id, title, filename, io.BytesIO(content), len(content)
    )


async def replace(ctx, who, account_id, document_id, content, filename="brochure.pdf"):
    return await library.replace_document(
        ctx, who, account_id, document_id, filename, io.BytesIO(content), len(content)
    )


async def content(ctx, who, account_id, document_id, version=None) -> bytes:
    found = await library.open_version(ctx, who, account_id, document_id, version)
    return b"".join([c async for c in ctx.files.stream(found.file_id)])


def library_files(ctx) -> list[bytes]:
    """The contents in the file store that are not registration documents, sorted."""
    registration = {
        d.document_id
        for a in ctx.accounts.documents.values()
        for d in ctx.accounts.load(a).documents.values()
    }
    return sorted(c for i, c in ctx.files.files.items() if i not in registration)


def changes(ctx) -> list[LibraryDocumentChanged]:
    return [e for e in ctx.library.events if isinstance(e, LibraryDocumentChanged)]


async def active_supplier(ctx, admin, nit="900100200") -> str:
    supplier = await ready(ctx, admin, supplier_form(nit))
    await lifecycle.submit_account(ctx, admin, supplier)
    return supplier


async def active_entity(ctx, admin, nit="800300400") -> str:
    entity = await ready(ctx, admin, entity_form(nit))
    await lifecycle.submit_account(ctx, admin, entity)
    await lifecycle.apply_activation_decision(ctx, desk_decision(entity, "approve"))
    return entity


async def test_administrators_add_and_members_list_and_download(ctx, person):
    ana, beto, caro = person("Ana Admin"), person("Beto Miembro"), person("Caro Extraña")
    supplier = await active_supplier(ctx, ana)
    await accepted_member(ctx, ana, supplier, beto, ["supplier"])

    added = await add(ctx, ana, supplier, "  Brochure 2026  ")
    assert added.title == "Brochure 2026" and added.current.version == 1
    assert added.current.sha256 == hashlib.sha256(PDF).hexdigest()
    assert added.current.content_type == "application/pdf"

    for who in (beto, caro):  # a member who does not administer, a stranger
        with pytest.raises(Refused):
            await add(ctx, who, supplier, "Otro")
        with pytest.raises(Refused):
            await replace(ctx, who, supplier, added.id, pdf(2))
        with pytest.raises(Refused):
            await library.remove_document(ctx, who, supplier, added.id)
    listed, reader = await library.list_documents(ctx, beto, supplier)
    assert [d.id for d in listed] == [added.id] and reader == "member"
    [seen] = await library.describe(ctx, listed, reader)
    assert seen["current"]["uploaded_by_name"] == "Ana Admin" and "file_id" not in seen["current"]
    assert await content(ctx, beto, supplier, added.id) == PDF
    with pytest.raises(Refused):  # a member of nothing
        await library.list_documents(ctx, caro, supplier)
    with pytest.raises(Refused):
        await content(ctx, caro, supplier, added.id)
    assert ctx.document_reads.reads == []  # members' reads are not outside reads


async def test_titles_and_files_follow_the_document_rules_and_a_refusal_stores_nothing():
    ctx = racing(document_max_bytes=len(PDF) + 100)
    person = People(ctx)
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    for title in ("", "   ", "x" * 201, "Informe\x00", "Informe\u202etxt.exe", "a\nb"):
        with pytest.raises(Invalid):
            await add(ctx, ana, supplier, title)
    assert (await add(ctx, ana, supplier, "é" * 200)).title == "é" * 200
    stored = dict(ctx.files.files)
    with pytest.raises(FileRefused):
        await add(ctx, ana, supplier, "Blocked", b"MZ\x90\x00", "setup.exe")
    with pytest.raises(FileRefused):
        await add(ctx, ana, supplier, "Fake", b"<html>no</html>", "fake.pdf")
    with pytest.raises(TooLarge):
        await add(ctx, ana, supplier, "Big", PDF + b"0" * 200)
    with pytest.raises(TooLarge):  # the declared size lied
        await library.add_document(
            ctx, ana, supplier, "Liar", "a.pdf", io.BytesIO(PDF + b"0" * 200), 10
        )
    assert ctx.files.files == stored and len(changes(ctx)) == 1


async def test_a_library_holds_at_most_its_documents_even_when_added_at_once():
    ctx = racing(library_max_documents=2)
    person = People(ctx)
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    racing_adds = await asyncio.gather(
        *(add(ctx, ana, supplier, f"Doc {n}", pdf(n)) for n in range(4)), return_exceptions=True
    )
    kept = [r for r in racing_adds if isinstance(r, LibraryDocument)]
    assert len(kept) == 2
    assert all(isinstance(r, Conflict) for r in racing_adds if r not in kept)
    assert len(library_files(ctx)) == 2  # the refused uploads' files are gone
    with pytest.raises(Conflict, match="most it may"):
        await library.may_add(ctx, ana, supplier)  # before any body is read
    await library.remove_document(ctx, ana, supplier, kept[0].id)
    await add(ctx, ana, supplier, "Doc again")  # the removed one's slot is free again
    live, _ = await library.list_documents(ctx, ana, supplier)
    assert len(live) == 2


async def test_versions_beyond_those_kept_go_content_and_metadata():
    ctx = racing(library_versions_kept=2)
    person = People(ctx)
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    first = await add(ctx, ana, supplier, content=pdf(1))
    await replace(ctx, ana, supplier, first.id, pdf(2), "v2.pdf")
    assert await content(ctx, ana, supplier, first.id, 1) == pdf(1)  # kept while within
    third = await replace(ctx, ana, supplier, first.id, pdf(3), "v3.pdf")

    assert [v.version for v in third.versions] == [2, 3]
    assert library_files(ctx) == [pdf(2), pdf(3)]
    with pytest.raises(NotFound):
        await content(ctx, ana, supplier, first.id, 1)
    assert await content(ctx, ana, supplier, first.id, 2) == pdf(2)
    assert await content(ctx, ana, supplier, first.id) == pdf(3)
    document, reader = await library.read_document(ctx, ana, supplier, first.id)
    [seen] = await library.describe(ctx, [document], reader, history=True)
    assert [(v["version"], v["filename"]) for v in seen["versions"]] == [
        (3, "v3.pdf"),
        (2, "v2.pdf"),
    ]
    assert seen["versions"][0]["sha256"] == hashlib.sha256(pdf(3)).hexdigest()


async def test_a_refused_replacement_keeps_the_current_version(ctx, person):
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    first = await add(ctx, ana, supplier)
    with pytest.raises(FileRefused):
        await replace(ctx, ana, supplier, first.id, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "b.pdf")
    assert await content(ctx, ana, supplier, first.id) == PDF
    assert library_files(ctx) == [PDF] and len(changes(ctx)) == 1


async def test_removal_deletes_every_content_and_keeps_the_history_for_administrators(ctx, person):
    ana, beto = person("Ana"), person("Beto")
    supplier = await active_supplier(ctx, ana)
    await accepted_member(ctx, ana, supplier, beto, ["supplier"])
    doc = await add(ctx, ana, supplier, content=pdf(1))
    await replace(ctx, ana, supplier, doc.id, pdf(2))
    other = await add(ctx, ana, supplier, "Other", pdf(9))

    await library.remove_document(ctx, ana, supplier, doc.id)
    assert library_files(ctx) == [pdf(9)]
    live, _ = await library.list_documents(ctx, beto, supplier)
    assert [d.id for d in live] == [other.id]
    audit, _ = await library.list_documents(ctx, ana, supplier, removed=True)
    assert {d.id: d.removed for d in audit} == {doc.id: True, other.id: False}
    with pytest.raises(Refused):
        await library.list_documents(ctx, beto, supplier, removed=True)
    removed, _ = await library.read_document(ctx, ana, supplier, doc.id)
    assert removed.removed_by == str(ana.user_id) and len(removed.versions) == 2
    with pytest.raises(NotFound):
        await library.read_document(ctx, beto, supplier, doc.id)
    for action in (
        content(ctx, ana, supplier, doc.id),
        replace(ctx, ana, supplier, doc.id, pdf(3)),
        library.remove_document(ctx, ana, supplier, doc.id),
    ):
        with pytest.raises(NotFound):
            await action
    assert library_files(ctx) == [pdf(9)]  # the refused replacement left nothing


async def test_a_replacement_racing_a_removal_leaves_no_content_behind(ctx, person):
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    doc = await add(ctx, ana, supplier)
    results = await asyncio.gather(
        replace(ctx, ana, supplier, doc.id, pdf(2)),
        library.remove_document(ctx, ana, supplier, doc.id),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, NotFound)]
    assert library_files(ctx) == []


async def test_another_accounts_document_is_unknown_under_this_accounts_path(ctx, person):
    ana, beto = person("Ana"), person("Beto")
    mine = await active_supplier(ctx, ana, "900100200")
    theirs = await active_supplier(ctx, beto, "900100201")
    their_doc = await add(ctx, beto, theirs)
    for action in (
        content(ctx, ana, mine, their_doc.id),
        library.read_document(ctx, ana, mine, their_doc.id),
        replace(ctx, ana, mine, their_doc.id, pdf(2)),
        library.remove_document(ctx, ana, mine, their_doc.id),
    ):
        with pytest.raises(NotFound):
            await action
    assert await content(ctx, beto, theirs, their_doc.id) == PDF


async def test_drafts_have_a_library_and_rejected_accounts_take_no_changes(ctx, person):
    ana = person("Ana")
    draft = await ready(ctx, ana, supplier_form("900100200"))
    doc = await add(ctx, ana, draft)
    entity = await ready(ctx, ana, entity_form("800300400"))
    entity_doc = await add(ctx, ana, entity)
    await lifecycle.submit_account(ctx, ana, entity)
    await lifecycle.apply_activation_decision(ctx, desk_decision(entity, "reject"))
    with pytest.raises(Conflict, match="rejected"):
        await add(ctx, ana, entity, "Nuevo")
    with pytest.raises(Conflict, match="rejected"):
        await replace(ctx, ana, entity, entity_doc.id, pdf(2))
    with pytest.raises(Conflict, match="rejected"):
        await library.remove_document(ctx, ana, entity, entity_doc.id)
    assert await content(ctx, ana, entity, entity_doc.id) == PDF  # still its members'
    assert await content(ctx, ana, draft, doc.id) == PDF


async def test_active_buyers_read_an_active_suppliers_library_and_nobody_else_outside(ctx, person):
    sara, ena, dora, carlos = person("Sara"), person("Ena"), person("Dora"), person("Carlos")
    agent = person("Agente", SUPPORT_AGENT)
    supplier = await active_supplier(ctx, sara, "900100200")
    await active_supplier(ctx, carlos, "900100201")  # Carlos: a competing supplier
    entity = await active_entity(ctx, ena, "800300400")
    waiting = await ready(ctx, dora, entity_form("800300401"))
    await lifecycle.submit_account(ctx, dora, waiting)  # pending activation
    drafted = await ready(ctx, sara, supplier_form("900100202"))  # a draft supplier
    doc = await add(ctx, sara, supplier)
    entity_doc = await add(ctx, ena, entity)
    waiting_doc = await add(ctx, dora, waiting)
    draft_doc = await add(ctx, sara, drafted)

    listed, reader = await library.list_documents(ctx, ena, supplier)
    assert reader == "buyer" and [d.id for d in listed] == [doc.id]
    [seen] = await library.describe(ctx, listed, reader, history=True)
    assert "uploaded_by" not in seen["current"] and "created_by" not in seen  # no staff names
    assert await content(ctx, ena, supplier, doc.id) == PDF
    [read] = ctx.document_reads.reads
    assert read["doc_type"] == f"library:{doc.id}" and read["reader_as"] == "buyer"
    assert read["reader_id"] == str(ena.user_id) and read["account_id"] == supplier
    reads, _ = await documents.reads_of(ctx, sara, supplier, 1, 20)
    assert [r["doc_type"] for r in reads] == [f"library:{doc.id}"]
    with pytest.raises(Refused):  # only administrators may see who read
        await library.list_documents(ctx, ena, supplier, removed=True)

    refused = [
        (carlos, supplier, doc.id),  # a competing supplier's member
        (dora, supplier, doc.id),  # a member of an entity not active yet
        (agent, supplier, doc.id),  # a desk agent: not the library's reader
        (agent, waiting, waiting_doc.id),  # not even of an entity under review
        (sara, entity, entity_doc.id),  # an entity's library stays within it
        (carlos, entity, entity_doc.id),
        (ena, drafted, draft_doc.id),  # a draft supplier's, even for a buyer
    ]
    for who, account, document_id in refused:
        with pytest.raises(Refused):
            await content(ctx, who, account, document_id)
        with pytest.raises(Refused):
            await library.list_documents(ctx, who, account)
    assert len(ctx.document_reads.reads) == 1


async def test_each_change_tells_the_members_who_chose_document_changes(ctx, person):
    ana, beto, caro = person("Ana Admin"), person("Beto"), person("Caro")
    supplier = await active_supplier(ctx, ana)
    await accepted_member(ctx, ana, supplier, beto, ["supplier"])
    await accepted_member(ctx, ana, supplier, caro, ["supplier"])
    await desk.choose_notices(ctx, beto, supplier, ["document_changes"])

    doc = await add(ctx, ana, supplier, "Brochure", pdf(1), "brochure-1.pdf")
    await replace(ctx, ana, supplier, doc.id, pdf(2), "brochure-2.pdf")
    await library.remove_document(ctx, ana, supplier, doc.id)

    added, replaced, removed = changes(ctx)
    assert [e.payload.action for e in (added, replaced, removed)] == [
        "added",
        "replaced",
        "removed",
    ]
    assert [e.payload.version for e in (added, replaced, removed)] == [1, 2, 2]
    p = replaced.payload
    assert str(p.document_id) == doc.id and str(p.account_id) == supplier and p.title == "Brochure"
    assert p.filename == "brochure-2.pdf" and p.sha256 == hashlib.sha256(pdf(2)).hexdigest()
    assert p.size == len(pdf(2)) and str(p.changed_by) == str(ana.user_id)
    assert p.nit == "900100200" and p.kind == "supplier"
    for event in (added, replaced, removed):
        assert [str(r.user_id) for r in event.payload.notice_recipients] == [str(beto.user_id)]
        assert event.key == supplier


def test_a_download_header_carries_no_control_characters_of_the_uploaded_name():
    """A multipart file name may hold control characters (all but CR and LF); the server
    refuses such a header value, so the download of that file failed for every reader."""

    async def nothing():
        yield b""

    name = "acta\x01\x1b[31m\tfinal\x7f.pdf"
    response = attachment(nothing(), name, "application/pdf", 0, "0" * 64)
    value = response.headers["content-disposition"]
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    assert 'filename="acta[31mfinal.pdf"' in value
