"""What every use case needs: the stores over the service's database, and shared checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from secop_runtime.auth import Principal
from secop_runtime.http import ApiError
from secop_runtime.service import ServiceRuntime

from membership.adapters.accounts import AccountStore
from membership.adapters.document_reads import DocumentReads
from membership.adapters.files import DocumentStore
from membership.adapters.memberships import MembershipStore
from membership.adapters.turns import Turns
from membership.adapters.users import UserDirectory, person_ref
from membership.domain.location import Municipalities
from membership.domain.memberships import ADMINISTRATOR


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Uow:
    """The stores of one request or event (cheap to build: they only wrap collections)."""

    runtime: ServiceRuntime
    accounts: AccountStore
    memberships: MembershipStore
    documents: DocumentStore
    users: UserDirectory
    turns: Turns
    document_reads: DocumentReads

    @classmethod
    def of(cls, runtime: ServiceRuntime) -> Uow:
        db = runtime.db
        return cls(
            runtime,
            AccountStore(db),
            MembershipStore(db),
            DocumentStore(db),
            UserDirectory(db),
            Turns(db),
            DocumentReads(db),
        )

    @property
    def municipalities(self) -> Municipalities:
        return getattr(self.runtime, "municipalities", Municipalities())

    def account_turn(self, account_id: str) -> Any:
        return self.turns.hold(f"account:{account_id}")

    def roster_turn(self, account_id: str) -> Any:
        return self.turns.hold(f"roster:{account_id}")

    async def account_or_404(self, account_id: str) -> dict[str, Any]:
        account = await self.accounts.get(account_id)
        if account is None:
            raise ApiError(404, f"no account {account_id}")
        return account

    async def require_admin(self, account_id: str, principal: Principal) -> dict[str, Any]:
        """The account, if the caller administers it (403 otherwise)."""
        account = await self.account_or_404(account_id)
        membership = await self.memberships.accepted(account_id, str(principal.user_id))
        if membership is None or ADMINISTRATOR not in membership.get("roles", []):
            raise ApiError(403, "only the account's administrators may do this")
        return account

    async def administrators(self, account_id: str) -> list[dict[str, Any]]:
        """The account's administrators as ``PersonRef`` payloads (email from the user view)."""
        ids = await self.memberships.administrators(account_id)
        views = await self.users.get_many(ids)
        return [person_ref(views.get(i), i) for i in ids if i in views]

    async def summary(self, account: dict[str, Any]) -> dict[str, Any]:
        """``AccountSummary`` fields: who notification and support must address."""
        return {
            "account_id": account["_id"],
            "kind": account["kind"],
            "legal_name": account["legal_name"],
            "short_name": account.get("short_name") or "",
            "nit": account["nit"],
            "country": account.get("country", "CO"),
            "department": account.get("department") or "",
            "municipality": account.get("municipality") or "",
            "notification_email": account.get("notification_email") or "",
            "administrators": await self.administrators(account["_id"]),
        }
