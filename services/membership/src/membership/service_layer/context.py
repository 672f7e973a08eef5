"""The membership service's context: its stores and collaborators, built once at start.

Routes get it through ``Depends(context)``, subscribers by calling the ``Late`` holder; the
runtime runs ``maintain`` hourly and at start. Unit tests build one from the fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from secop_runtime.aggregates import Store
from secop_runtime.errors import Unavailable
from secop_runtime.sealing import seal
from secop_runtime.service import ServiceRuntime

from membership.adapters import divipola
from membership.adapters.accounts import AccountQueries, account_store, create_indexes
from membership.adapters.cases import CaseArchive, case_store
from membership.adapters.document_reads import DocumentReads
from membership.adapters.files import FileStore
from membership.adapters.invitation_recipients import InvitationRecipients
from membership.adapters.legacy import fold_legacy_accounts
from membership.adapters.library import create_library_indexes, library_store
from membership.adapters.nit_claims import NitClaims
from membership.adapters.users import UserDirectory
from membership.config import Settings
from membership.domain.accounts import Account
from membership.domain.cases import AccountCase
from membership.domain.location import Municipalities
from membership.service_layer import ports
from membership.service_layer.accounts import expire_drafts
from membership.service_layer.invitations import forget_old_invitations
from membership.service_layer.library import LibraryStore


@dataclass
class Context:
    settings: Settings
    accounts: Store[Account]
    queries: ports.AccountQueries
    nit_claims: ports.NitClaims
    files: ports.Files
    users: ports.Users
    document_reads: ports.DocumentReads
    municipalities: Municipalities
    recipients: ports.InvitationRecipients
    cases: Store[AccountCase]
    case_archive: ports.CaseArchive
    library: LibraryStore

    @classmethod
    async def build(cls, runtime: ServiceRuntime, settings: Settings) -> Context:
        db = runtime.db
        accounts = account_store(db)
        await create_indexes(accounts)
        await UserDirectory.ensure_indexes(db)
        await DocumentReads.ensure_indexes(
            db, timedelta(days=settings.document_reads_retention_days)
        )
        await InvitationRecipients.ensure_indexes(db)
        await fold_legacy_accounts(db, accounts)
        cases = case_store(db)
        await cases.create_indexes()
        library = library_store(db)
        await create_library_indexes(library)
        return cls(
            settings=settings,
            accounts=accounts,
            queries=AccountQueries(accounts),
            nit_claims=NitClaims(db),
            files=FileStore(db),
            users=UserDirectory(db),
            document_reads=DocumentReads(db),
            # A wrong DIVIPOLA file stops the service at start instead of failing requests.
            municipalities=divipola.load(settings.divipola_file),
            recipients=InvitationRecipients(db),
            cases=cases,
            case_archive=CaseArchive(db),
            library=library,
        )

    async def maintain(self, now: datetime) -> None:
        """Drafts nobody touched expire (releasing their NIT); old document reads go; so do
        invitations closed longer ago than their retention (this reads every account on
        FerretDB: see ``AccountQueries.with_old_invitations``), the per-address counts of
        invitation emails of days gone by, support cases resolved (or never the account's)
        longer ago than ``ACCOUNT_CASES_RETENTION_DAYS``, and library documents removed longer
        ago than ``LIBRARY_REMOVED_RETENTION_DAYS``."""
        await expire_drafts(self, now)
        keep = timedelta(days=self.settings.document_reads_retention_days)
        await self.document_reads.prune(now - keep)
        await forget_old_invitations(self, now)
        await self.recipients.prune(now)
        await self.case_archive.prune(
            now - timedelta(days=self.settings.account_cases_retention_days)
        )
        await self.library.prune_removed(
            now - timedelta(days=self.settings.library_removed_retention_days)
        )

    def sealed(self, secret: str) -> str:
        """``secret`` sealed for notification, the only service that may read it (invitation
        links travel on a topic others read)."""
        key = self.settings.notification_seal_public_key
        if not key:
            raise Unavailable(
                "invitations are not available: this service has no NOTIFICATION_SEAL_PUBLIC_KEY "
                "to seal their links with",
                retry_after_s=3600,
            )
        return seal(key, secret)
