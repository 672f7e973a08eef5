"""The account's document library ("Biblioteca de documentos"): documents its administrators
add, replace with new versions and remove, beyond the registration documents.

Each library document is its own aggregate (collection ``library``), not part of the account:
a library grows with every version, and the account document is the hot one every request,
decision and invitation writes. What spans documents is decided by the store, not here:

- an account holds at most ``LIBRARY_MAX_DOCUMENTS`` live documents: each live document takes
  one of the account's slots (``{account}:{n}``, unique among live documents), so two uploads at
  once cannot both take the last one; a removed document gives its slot back;
- a document keeps at most ``LIBRARY_VERSIONS_KEPT`` versions: adding one beyond drops the
  oldest (its metadata here, its content once the change is saved);
- the kept versions of an account's live documents take at most ``LIBRARY_MAX_BYTES``
  (``bytes_kept``), checked before a new version is stored and again once its size is known.

A removed document stays, with its history, for the administrators' audit
(``LIBRARY_REMOVED_RETENTION_DAYS``); its contents go at removal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field
from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import LibraryDocumentChanged, LibraryDocumentChangedPayload
from secop_runtime.aggregates import Aggregate
from secop_runtime.errors import Invalid, NotFound
from secop_runtime.events import new_event

from membership.domain.accounts import Account
from membership.domain.roster import PRODUCER

TITLE_MAX = 200
#: Unicode categories a title may not hold: control, format (bidirectional overrides that
#: disguise a name, zero-width characters), surrogates and private use.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})


class StoredFile(BaseModel):
    """An uploaded content's metadata; the content is the file ``file_id`` in the file store."""

    file_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class LibraryVersion(StoredFile):
    """One version of a library document (numbered from 1; numbers are never reused)."""

    version: int


def check_title(title: str) -> str:
    """The title as kept: stripped, 1 to 200 characters, no control or format characters."""
    cleaned = title.strip()
    if not 1 <= len(cleaned) <= TITLE_MAX:
        raise Invalid(f"the title must have 1 to {TITLE_MAX} characters", field="title")
    if any(unicodedata.category(c) in _HIDDEN_CATEGORIES for c in cleaned):
        raise Invalid("the title may not contain control or formatting characters", field="title")
    return cleaned


def free_slots(account_id: str, live: list[LibraryDocument], limit: int) -> list[str]:
    """The slots the account's next document may take: ``limit`` in all, less those its live
    documents hold (a lowered limit leaves the documents beyond it, and no slot free)."""
    taken = {d.slot for d in live}
    free = [f"{account_id}:{n}" for n in range(limit) if f"{account_id}:{n}" not in taken]
    return free[: max(0, limit - len(live))]


def bytes_kept(documents: Iterable[LibraryDocument]) -> int:
    """What the documents' kept versions take in the file store."""
    return sum(v.size for d in documents for v in d.versions)


class LibraryDocument(Aggregate):
    """One document of an account's library and its kept versions, oldest first."""

    account_id: str
    title: str
    versions: list[LibraryVersion] = Field(default_factory=list)
    created_by: str
    created_at: datetime
    updated_at: datetime
    removed: bool = False
    removed_by: str | None = None
    removed_at: datetime | None = None
    #: One of the account's slots while the document is live; none once removed.
    slot: str | None = None

    @classmethod
    def start(
        cls, document_id: str, account_id: str, title: str, first: StoredFile, slot: str
    ) -> LibraryDocument:
        return cls(
            id=document_id,
            account_id=account_id,
            title=check_title(title),
            versions=[LibraryVersion(version=1, **first.model_dump())],
            created_by=first.uploaded_by,
            created_at=first.uploaded_at,
            updated_at=first.uploaded_at,
            slot=slot,
        )

    @property
    def current(self) -> LibraryVersion:
        return self.versions[-1]

    def kept(self, number: int) -> LibraryVersion:
        """A kept version (an unknown or dropped one: ``NotFound``)."""
        for kept in self.versions:
            if kept.version == number:
                return kept
        raise NotFound(f"the document has no version {number} (it keeps its latest ones only)")

    def beyond(self, keep: int) -> list[LibraryVersion]:
        """The versions that one more would drop (the oldest beyond ``keep``)."""
        return self.versions[: max(0, len(self.versions) + 1 - keep)]

    def check_live(self) -> None:
        if self.removed:
            raise NotFound("no such document in the account's library")

    def add_version(self, file: StoredFile, keep: int) -> list[LibraryVersion]:
        """Make ``file`` the next version; returns the oldest versions beyond ``keep``, which
        are dropped (their contents are to be deleted once this change is saved)."""
        self.check_live()
        new = LibraryVersion(version=self.current.version + 1, **file.model_dump())
        versions = [*self.versions, new]
        self.versions = versions[-keep:]
        self.updated_at = new.uploaded_at
        return versions[:-keep]

    def remove(self, by: str, at: datetime) -> list[LibraryVersion]:
        """Mark it removed, giving its slot back; returns the versions whose contents go."""
        self.check_live()
        self.removed, self.removed_by, self.removed_at = True, by, at
        self.slot, self.updated_at = None, at
        return list(self.versions)

    def changed(
        self, action: str, account: Account, by: str, at: datetime, recipients: list[PersonRef]
    ) -> Event:
        """``LibraryDocumentChanged`` for ``action`` (the current, or last, version)."""
        v = self.current
        payload = LibraryDocumentChangedPayload(
            account_id=self.account_id,
            account_name=account.legal_name,
            nit=account.nit,
            kind=account.kind,
            document_id=self.id,
            title=self.title,
            action=action,
            version=v.version,
            filename=v.filename,
            content_type=v.content_type,
            size=v.size,
            sha256=v.sha256,
            changed_by=by,
            changed_at=at,
            notice_recipients=recipients,
        )
        return new_event(LibraryDocumentChanged, PRODUCER, payload)
