"""The account's invitations as records, and what an invitation must satisfy before it goes
out: who may invite, to which address, and the bounds that keep invitations from becoming a
way to mail anyone without end or to grow the account document.

An administrator's invitation emails an address they typed, and a revocation emails it again;
without bounds an account could mail anyone, without end, from SECOP II's address, and a loop
of invite and revoke would grow the account document (invitations are kept in it) until the
database refuses every write to the account (16 MB). So:

- the account sends at most ``emails_per_day`` invitation emails (invites, resends and
  revocation notices) in any 24 hours. The times of those sent are kept here, in the account
  (``invitation_emails``: those of the last 24 hours only, so never more than the budget), and
  not in a rate-limit collection: the budget is then decided in the same versioned write as the
  invitation it pays for (two administrators inviting at once cannot both spend the last
  email, and a refused or lost write spends nothing), at no extra round trip;
- pending invitations are at most ``max_pending``; closed ones go after ``closed_retention``
  and beyond ``max_closed``, the oldest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import Field
from secop_runtime.errors import Conflict, NotFound, Throttled

from membership.domain import memberships as m
from membership.domain.invitations import (
    BUDGET_WINDOW,
    EXPIRED,
    PENDING,
    Invitation,
    InvitationRules,
)
from membership.domain.roster import Roster


class InvitationRecords(Roster):
    """The roster, the account's invitations, and when its latest invitation emails went."""

    if TYPE_CHECKING:  # the account's field the invitations' rules read
        may_invite: bool

    invitations: list[Invitation] = Field(default_factory=list)
    #: When each invitation email of the last 24 hours went (at most the daily budget).
    invitation_emails: list[datetime] = Field(default_factory=list)

    def invitation(self, invitation_id: str) -> Invitation | None:
        return next((i for i in self.invitations if i.invitation_id == invitation_id), None)

    def pending_invitations(self, now: datetime) -> list[Invitation]:
        return [i for i in self.invitations if i.state_at(now) == PENDING]

    def settle(self, now: datetime, rules: InvitationRules) -> None:
        """Record what time has decided (pending past expiry: expired), forget invitations
        closed longer ago than the retention or beyond the most kept (oldest first), and
        emails out of the budget's window; the next write of the account stores it."""
        for invitation in self.invitations:
            if invitation.state == PENDING and now >= invitation.expires_at:
                invitation.close(EXPIRED, None, invitation.expires_at)
        kept = [
            i
            for i in self.invitations
            if i.closed_at is None or now - i.closed_at < rules.closed_retention
        ]
        closed = sorted((i.closed_at, n) for n, i in enumerate(kept) if i.closed_at is not None)
        beyond = {n for _, n in closed[: max(0, len(closed) - rules.max_closed)]}
        kept = [i for n, i in enumerate(kept) if n not in beyond]
        if len(kept) != len(self.invitations):
            self.invitations = kept
        recent = [t for t in self.invitation_emails if now - t < BUDGET_WINDOW]
        if len(recent) != len(self.invitation_emails):
            self.invitation_emails = recent

    def spend_email(self, at: datetime, rules: InvitationRules) -> None:
        """One invitation email out of the day's budget, or 429 until one is free again."""
        if not self.may_email(at, rules):
            oldest = min(t for t in self.invitation_emails if at - t < BUDGET_WINDOW)
            raise Throttled(
                f"the account has sent {rules.emails_per_day} invitation emails in the last 24 "
                "hours, the most it may: try again later",
                (oldest + BUDGET_WINDOW - at).total_seconds(),
            )
        self.invitation_emails = [*self.invitation_emails, at]

    def may_email(self, at: datetime, rules: InvitationRules) -> bool:
        sent = sum(1 for t in self.invitation_emails if at - t < BUDGET_WINDOW)
        return sent < rules.emails_per_day

    # -- what an invitation must satisfy -----------------------------------------------------------
    def find_invitation(self, invitation_id: str) -> Invitation:
        invitation = self.invitation(invitation_id)
        if invitation is None:
            raise NotFound(f"no invitation {invitation_id} in this account")
        return invitation

    def check_may_invite(self) -> None:
        """Only an active account sends invitations: a supplier once submitted, an entity
        once the service desk has vetted and activated it."""
        if self.is_natural_person:
            raise Conflict("a natural-person supplier is a one-user account")
        if not self.may_invite:
            raise Conflict(
                f"the account is {self.status}: only an active account invites (an entity "
                "once the service desk has activated it)"
            )

    def check_joinable(self) -> None:
        if not self.joinable:
            raise Conflict(f"the account is {self.status}: it takes no new members")
        if self.is_natural_person:
            raise Conflict("a natural-person supplier is a one-user account")

    def check_roles_still_allowed(self, roles: list[str]) -> None:
        """Roles valid when invited may not be any more (a mixed profile withdrawn)."""
        if message := m.roles_error(roles, self.kind, self.mixed_profile):
            raise Conflict(f"the invited roles no longer apply: {message}")

    def check_address(
        self, key: str, emails: Mapping[str, str], at: datetime, but: str | None = None
    ) -> None:
        """No live member holds the address, and no other live invitation goes to it. Only
        this account's roster is looked at: nothing says whether the address has a user."""
        for user_id, user_key in emails.items():
            found = self.member(user_id) if user_key == key else None
            if found is not None and found.status == m.ACCEPTED:
                raise Conflict("this address belongs to a member of the account", status="accepted")
            if found is not None and found.status == m.PENDING:
                raise Conflict(
                    "this address belongs to a user waiting for access to the account: accept "
                    "their access request instead",
                    status="pending",
                )
        for other in self.pending_invitations(at):
            if other.email_key == key and other.invitation_id != but:
                raise Conflict(
                    "an invitation to this address is pending: send it again instead",
                    invitation_id=other.invitation_id,
                )

    def check_room(self, at: datetime, max_pending: int) -> None:
        if len(self.pending_invitations(at)) >= max_pending:
            raise Conflict(
                f"the account has {max_pending} pending invitations: revoke some or wait for "
                "them to be accepted or to expire"
            )
