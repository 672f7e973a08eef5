"""The account's document library through the service layer over the fakes: administrators
add, replace and remove; members read; the bounds on documents, versions and bytes; what a
refused or losing upload leaves, and what a change that may have been saved keeps; who outside
the account reads, and which versions; file names; the removed documents' audit list and their
end; the events and whom they address."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from membership.adapters.fakes import MemoryLibrary
from membership.domain.documents import SUPPORT_AGENT, FileRefused
from membership.domain.library import LibraryDocument, StoredFile
from membership.entrypoints.library import attachment
from membership.service_layer import desk, documents, library, lifecycle
from secop_contracts.membership import LibraryDocumentChanged
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


class RacingLibrary(MemoryLibrary):
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


async def submitted_entity(ctx, admin, nit="800300400") -> str:
    entity = await ready(ctx, admin, entity_form(nit))
    await lifecycle.submit_account(ctx, admin, entity)
    return entity


async def active_entity(ctx, admin, nit="800300400") -> str:
    entity = await submitted_entity(ctx, admin, nit)
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
    audit, total = await library.audit_documents(ctx, ana, supplier, 1, 20)
    assert [(d.id, d.removed) for d in audit] == [(doc.id, True), (other.id, False)] and total == 2
    with pytest.raises(Refused):
        await library.audit_documents(ctx, beto, supplier, 1, 20)
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


async def legacy_document(ctx, account_id: str, who) -> LibraryDocument:
    """A library document as a draft could hold before drafts had no library."""
    file_id, size, sha256 = await ctx.files.upload("old.pdf", io.BytesIO(PDF), {})
    first = StoredFile(
        file_id=file_id,
        filename="old.pdf",
        content_type="application/pdf",
        size=size,
        sha256=sha256,
        uploaded_by=str(who.user_id),
        uploaded_at=datetime.now(UTC),
    )
    slot = f"{account_id}:0"
    document = LibraryDocument.start(str(uuid.uuid4()), account_id, "Old", first, slot)
    await ctx.library.add(document)
    return document


async def test_a_draft_has_no_library_until_it_is_submitted(ctx, person):
    """A draft's library documents outlived the draft (expired or discarded) in the database
    and GridFS, unreachable: the library opens once the account is submitted."""
    ana, caro = person("Ana"), person("Caro")
    draft = await ready(ctx, ana, supplier_form("900100200"))
    stored = dict(ctx.files.files)
    with pytest.raises(Conflict, match="opens once the account is submitted"):
        await library.may_add(ctx, ana, draft)  # before any body is read
    with pytest.raises(Conflict, match="opens once the account is submitted"):
        await add(ctx, ana, draft)
    assert ctx.files.files == stored and ctx.library.documents == {}
    old = await legacy_document(ctx, draft, ana)
    with pytest.raises(Conflict, match="opens once the account is submitted"):
        await replace(ctx, ana, draft, old.id, pdf(2))
    assert [d.id for d in (await library.list_documents(ctx, ana, draft))[0]] == [old.id]
    with pytest.raises(Refused):  # reading it: members only, as before
        await library.list_documents(ctx, caro, draft)
    await library.remove_document(ctx, ana, draft, old.id)  # what a draft held may still go

    await lifecycle.submit_account(ctx, ana, draft)
    assert (await add(ctx, ana, draft)).current.version == 1


async def test_a_rejected_account_takes_no_changes_and_keeps_its_library_for_members(ctx, person):
    ana = person("Ana")
    entity = await submitted_entity(ctx, ana)
    entity_doc = await add(ctx, ana, entity)
    await lifecycle.apply_activation_decision(ctx, desk_decision(entity, "reject"))
    with pytest.raises(Conflict, match="rejected"):
        await add(ctx, ana, entity, "Nuevo")
    with pytest.raises(Conflict, match="rejected"):
        await replace(ctx, ana, entity, entity_doc.id, pdf(2))
    with pytest.raises(Conflict, match="rejected"):
        await library.remove_document(ctx, ana, entity, entity_doc.id)
    assert await content(ctx, ana, entity, entity_doc.id) == PDF  # still its members'


async def test_the_library_holds_at_most_its_byte_budget():
    size = len(pdf(1))  # every pdf(n) below 10 is as long
    ctx = racing(library_max_bytes=2 * size, library_versions_kept=1)
    ana = People(ctx)("Ana")
    supplier = await active_supplier(ctx, ana)
    first = await add(ctx, ana, supplier, "One", pdf(1))
    second = await add(ctx, ana, supplier, "Two", pdf(2))
    stored = dict(ctx.files.files)
    with pytest.raises(Conflict, match=f"budget of {2 * size} bytes.*{2 * size} are used"):
        await library.may_add(ctx, ana, supplier)  # full: refused before any body is read
    with pytest.raises(Conflict, match="remove documents"):
        await add(ctx, ana, supplier, "Three", pdf(3))
    assert ctx.files.files == stored

    # A new version that drops the one it replaces takes no more room...
    await replace(ctx, ana, supplier, first.id, pdf(3))
    # ...a larger one does not fit, and leaves the current version as it was.
    with pytest.raises(Conflict, match="budget"):
        await replace(ctx, ana, supplier, first.id, pdf(3) + b"%\n")
    assert await content(ctx, ana, supplier, first.id) == pdf(3)
    assert len(library_files(ctx)) == 2

    # A removed document's versions do not count; a declared size that lies is caught once
    # the file is stored, and the file goes.
    await library.remove_document(ctx, ana, supplier, second.id)
    big = pdf(4) + b"%\n"
    with pytest.raises(Conflict, match="budget"):
        await library.add_document(ctx, ana, supplier, "Liar", "a.pdf", io.BytesIO(big), 1)
    assert len(library_files(ctx)) == 1
    await add(ctx, ana, supplier, "Four", pdf(4))
    assert sorted(library_files(ctx)) == sorted([pdf(3), pdf(4)])


async def test_outsiders_read_the_current_version_only(ctx, person):
    """A supplier who replaced a file to take personal data out must not leave the old one
    readable by every buyer."""
    sara, beto, ena = person("Sara"), person("Beto"), person("Ena")
    supplier = await active_supplier(ctx, sara, "900100200")
    await accepted_member(ctx, sara, supplier, beto, ["supplier"])
    await active_entity(ctx, ena, "800300400")
    doc = await add(ctx, sara, supplier, content=pdf(1), filename="con-cedula.pdf")
    await replace(ctx, sara, supplier, doc.id, pdf(2), "sin-cedula.pdf")

    document, reader = await library.read_document(ctx, ena, supplier, doc.id)
    [seen] = await library.describe(ctx, [document], reader, history=True)
    assert reader == "buyer" and seen["versions_count"] == 1
    assert [v["filename"] for v in seen["versions"]] == ["sin-cedula.pdf"]
    listed, reader = await library.list_documents(ctx, ena, supplier)
    [seen] = await library.describe(ctx, listed, reader)
    assert seen["versions_count"] == 1 and seen["current"]["filename"] == "sin-cedula.pdf"
    with pytest.raises(NotFound, match="current"):
        await content(ctx, ena, supplier, doc.id, 1)
    assert await content(ctx, ena, supplier, doc.id, 2) == pdf(2)
    assert await content(ctx, ena, supplier, doc.id) == pdf(2)
    assert len(ctx.document_reads.reads) == 2  # the refused one is no read

    # the account's members see every kept version
    document, reader = await library.read_document(ctx, beto, supplier, doc.id)
    [seen] = await library.describe(ctx, [document], reader, history=True)
    assert [v["version"] for v in seen["versions"]] == [2, 1] and seen["versions_count"] == 2
    assert await content(ctx, beto, supplier, doc.id, 1) == pdf(1)


BAD_NAMES = {
    "too long": "x" * 252 + ".pdf",
    "empty": "",
    "blank": "   ",
    "control": "acta\x01final.pdf",
    "escape": "acta\x1b[31m.pdf",
    "delete": "acta\x7f.pdf",
    "bidi override": "acta\u202efdp.exe.pdf",
    "zero width": "ac\u200bta.pdf",
    "line separator": "acta\u2028Bcc.pdf",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_file_names_are_checked_at_upload_for_the_library_and_registration(ctx, person, name):
    """File names go into events and into emails to members."""
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    draft = await ready(ctx, ana, supplier_form("900100201"))
    stored = dict(ctx.files.files)
    for upload in (
        add(ctx, ana, supplier, filename=name),
        documents.upload_document(ctx, ana, draft, "rup", name, io.BytesIO(PDF), len(PDF)),
    ):
        with pytest.raises(Invalid, match="name") as refused:
            await upload
        assert refused.value.field == "file"
    assert ctx.files.files == stored


async def test_a_file_name_of_255_characters_is_kept_stripped(ctx, person):
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    name = "é" * 251 + ".pdf"
    assert (await add(ctx, ana, supplier, filename=f"  {name} ")).current.filename == name


class LostAcknowledgement(RacingLibrary):
    """The write goes through, and then the call fails (a lost acknowledgement, or the request
    cancelled while it waited)."""

    failure: BaseException = ConnectionError("connection closed before the acknowledgement")

    async def add(self, aggregate, *events):
        await super().add(aggregate, *events)
        raise self.failure

    async def save(self, aggregate, *events):
        await super().save(aggregate, *events)
        raise self.failure


@pytest.mark.parametrize(
    "failure", [ConnectionError("lost"), asyncio.CancelledError()], ids=["lost", "cancelled"]
)
async def test_a_change_that_may_have_been_saved_keeps_its_new_file(failure):
    """Deleting the new file on any failure left the saved current version pointing at
    deleted content: only a definite refusal deletes it."""
    ctx = racing()
    ana = People(ctx)("Ana")
    supplier = await active_supplier(ctx, ana)
    ctx.library = LostAcknowledgement(LibraryDocument, unique=("slot",))
    ctx.library.failure = failure
    with pytest.raises(type(failure)):
        await add(ctx, ana, supplier, content=pdf(1))
    [saved] = [ctx.library.load(d) for d in ctx.library.documents.values()]
    assert await content(ctx, ana, supplier, saved.id) == pdf(1)
    with pytest.raises(type(failure)):
        await replace(ctx, ana, supplier, saved.id, pdf(2))
    assert await content(ctx, ana, supplier, saved.id) == pdf(2)
    assert await content(ctx, ana, supplier, saved.id, 1) == pdf(1)


async def test_a_registration_upload_that_may_have_been_saved_keeps_its_new_file(ctx, person):
    ana = person("Ana")
    draft = await ready(ctx, ana, supplier_form("900100200"))
    save = ctx.accounts.save

    async def saved_then_lost(aggregate, *events):
        await save(aggregate, *events)
        raise ConnectionError("connection closed before the acknowledgement")

    ctx.accounts.save = saved_then_lost
    with pytest.raises(ConnectionError):
        await documents.upload_document(ctx, ana, draft, "rup", "rup.pdf", io.BytesIO(PDF), 1)
    ctx.accounts.save = save
    rup = await documents.open_document(ctx, ana, draft, "rup")
    assert ctx.files.files[rup.document_id] == PDF


async def test_removed_documents_are_listed_newest_first_by_page_and_go_after_their_retention(
    ctx, person
):
    ana = person("Ana")
    supplier = await active_supplier(ctx, ana)
    docs = [await add(ctx, ana, supplier, f"Doc {n}", pdf(n)) for n in range(5)]
    for doc in docs[:3]:
        await library.remove_document(ctx, ana, supplier, doc.id)
    await replace(ctx, ana, supplier, docs[3].id, pdf(7))  # the latest change of all

    newest_first = [docs[3].id, docs[2].id, docs[1].id, docs[0].id, docs[4].id]
    pages = [await library.audit_documents(ctx, ana, supplier, n, 2) for n in (1, 2, 3)]
    assert [[d.id for d in p] for p, _ in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert {total for _, total in pages} == {5}

    now = datetime.now(UTC)
    await ctx.maintain(now + timedelta(days=364))  # LIBRARY_REMOVED_RETENTION_DAYS: 365
    assert len(ctx.library.documents) == 5
    await ctx.maintain(now + timedelta(days=366))
    assert set(ctx.library.documents) == {docs[3].id, docs[4].id}  # the live ones stay
    assert (await library.audit_documents(ctx, ana, supplier, 1, 20))[1] == 2


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
    draft_doc = await legacy_document(ctx, drafted, sara)

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
    with pytest.raises(Refused):  # only administrators see the removed documents
        await library.audit_documents(ctx, ena, supplier, 1, 20)

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
