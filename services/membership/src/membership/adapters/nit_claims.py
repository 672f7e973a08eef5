"""The NIT claims that keep one live account per NIT (collection ``nit_claims``).

A claim is a document whose ``_id`` is the NIT: the unique ``_id`` decides between two racing
registrations. It spans accounts, so no single account's version could decide it. A draft that
goes (discarded, expired) or an entity the desk rejects releases its claim so the NIT can be
registered again; a claim whose holder is gone or rejected, or that never got its account (a
crash between the claim and the account's insert), is taken over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from membership.adapters.accounts import ACCOUNTS
from membership.domain.accounts import REJECTED

NIT_CLAIMS = "nit_claims"
#: A claim with no account after this long was left by a crash between the two inserts.
ORPHAN_CLAIM_AFTER = timedelta(seconds=60)


class NitTaken(Exception):
    """Another account holds the NIT (``account_id``: that account, "" when unknown)."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.account_id = account_id


class NitClaims:
    def __init__(self, db: AsyncDatabase) -> None:
        self._claims = db[NIT_CLAIMS]
        self._accounts = db[ACCOUNTS]

    async def claim(self, nit: str, account_id: str) -> None:
        """Take the NIT for ``account_id``, or raise ``NitTaken`` naming the live holder."""
        for _ in range(2):
            try:
                await self._claims.insert_one(
                    {"_id": nit, "account_id": account_id, "at": datetime.now(UTC)}
                )
                return
            except DuplicateKeyError:
                holder = await self._claims.find_one({"_id": nit})
                if holder is None:
                    continue  # released meanwhile
                if await self._holds(holder["account_id"], holder["at"]):
                    raise NitTaken(holder["account_id"]) from None
                await self._claims.delete_one({"_id": nit, "account_id": holder["account_id"]})
        raise NitTaken("")

    async def _holds(self, account_id: str, since: datetime) -> bool:
        account = await self._accounts.find_one({"_id": account_id}, {"status": 1})
        if account is None:  # its account may still be on its way
            return since > datetime.now(UTC) - ORPHAN_CLAIM_AFTER
        return account.get("status") != REJECTED

    async def release(self, nit: str, account_id: str) -> None:
        """Free the NIT if ``account_id`` still holds it (never someone else's claim)."""
        await self._claims.delete_one({"_id": nit, "account_id": account_id})
