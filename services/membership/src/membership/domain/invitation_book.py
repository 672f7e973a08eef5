"""The account's invitations as rules of the account: invite, send again, revoke, accept.

The roster's rules apply as they are (only its administrators act; roles from the same allowed
set; a user holds one live membership), and these add their own: one live invitation per
address, none to an address a live member of the account holds, a bounded number pending, a
resend at most once per interval, and an acceptance only by the invited address, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import Field
from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import (
    InvitationAccepted,
    InvitationAcceptedPayload,
    InvitationRevoked,
    InvitationRevokedPayload,
    MemberInvited,
    MemberInvitedPayload,
)
from secop_runtime.errors import Conflict, NotFound, Refused, Throttled
from secop_runtime.events import new_event

from membership.domain import memberships as m
from membership.domain.invitations import (
    ACCEPTED,
    CLOSED_KEPT,
    EXPIRED,
    PENDING,
    REVOKED,
    Invitation,
    problem_of,
    refused,
)
from membership.domain.roster import PRODUCER, Roster

WRONG_ADDRESS = (
    "this invitation was sent to another address: sign in with the user registered with the "
    "invited address to accept it"
)


def new_invitation(
    invitation_id: str,
    name: str,
    email: str,
    email_key: str,
    roles: list[str],
    by: str,
    token_hash: str,
    at: datetime,
    ttl: timedelta,
) -> Invitation:
    return Invitation(
        invitation_id=invitation_id,
        name=name,
        email=email,
        email_key=email_key,
        roles=sorted(set(roles)),
        invited_by=by,
        invited_at=at,
        sent_at=at,
        expires_at=at + ttl,
        token_hash=token_hash,
    )


class InvitationBook(Roster):
    """The roster, and the invitations that lead into it."""

    invitations: list[Invitation] = Field(default_factory=list)

    def invitation(self, invitation_id: str) -> Invitation | None:
        return next((i for i in self.invitations if i.invitation_id == invitation_id), None)

    def pending_invitations(self, now: datetime) -> list[Invitation]:
        return [i for i in self.invitations if i.state_at(now) == PENDING]

    def invite(
        self,
        invitation: Invitation,
        sealed_token: str,
        inviter_name: str,
        emails: Mapping[str, str],
        max_pending: int,
    ) -> list[Event]:
        """A new invitation (its link's token travels only as ``sealed_token``). ``emails``:
        the email key of each user of the roster, as the user view knows them."""
        at = invitation.invited_at
        self.require_administrator(invitation.invited_by)
        self.check_roles(invitation.roles)
        self._check_invitable()
        self.settle(at)
        self._check_address(invitation.email_key, emails, at)
        self._check_room(at, max_pending)
        self.invitations = [*self.invitations, invitation]
        return [self._invited(invitation, sealed_token, inviter_name, resent=False)]

    def resend(
        self,
        invitation_id: str,
        token_hash: str,
        sealed_token: str,
        by: str,
        inviter_name: str,
        emails: Mapping[str, str],
        at: datetime,
        ttl: timedelta,
        min_interval: timedelta,
        max_pending: int,
    ) -> list[Event]:
        """A new link (the older one stops working) and a new expiry, for a pending or expired
        invitation; ``by`` becomes the administrator it comes from."""
        self.require_administrator(by)
        self.settle(at)
        invitation = self._find(invitation_id)
        if invitation.state not in (PENDING, EXPIRED):
            raise Conflict(
                f"the invitation is {invitation.state}: only a pending or expired one is sent "
                "again",
                state=invitation.state,
            )
        wait = invitation.sent_at + min_interval - at
        if wait > timedelta(0):
            raise Throttled(
                "this invitation was sent a moment ago: wait before sending it again",
                wait.total_seconds(),
            )
        self._check_invitable()
        self._check_roles_still_allowed(invitation.roles)
        self._check_address(invitation.email_key, emails, at, but=invitation_id)
        if invitation.state == EXPIRED:
            self._check_room(at, max_pending)
        invitation.token_hash, invitation.invited_by = token_hash, by
        invitation.sent_at, invitation.expires_at = at, at + ttl
        invitation.sends += 1
        invitation.state, invitation.closed_at, invitation.closed_by = PENDING, None, None
        return [self._invited(invitation, sealed_token, inviter_name, resent=True)]

    def revoke(self, invitation_id: str, by: str, at: datetime) -> list[Event]:
        """Withdraw a pending invitation: its link stops working."""
        self.require_administrator(by)
        self.settle(at)
        invitation = self._find(invitation_id)
        if invitation.state != PENDING:
            raise Conflict(
                f"the invitation is {invitation.state}: only a pending one is revoked",
                state=invitation.state,
            )
        invitation.close(REVOKED, by, at)
        payload = InvitationRevokedPayload(
            invitation_id=invitation.invitation_id,
            account_id=self.id,
            account_name=self.legal_name,
            nit=self.nit,
            name=invitation.name,
            email=invitation.email,
            revoked_by=by,
            revoked_at=at,
        )
        return [new_event(InvitationRevoked, PRODUCER, payload)]

    def accept_invitation(
        self, invitation_id: str, token: str, user: PersonRef, user_email_key: str, at: datetime
    ) -> list[Event]:
        """The invitee, signed in as ``user``, follows the current link of a live invitation
        sent to their address: they become an accepted member with the invited roles."""
        invitation = self.invitation(invitation_id)
        if problem := problem_of(invitation, token, at):
            raise refused(problem)
        assert invitation is not None  # no problem: found
        if user_email_key != invitation.email_key:
            raise Refused(WRONG_ADDRESS)
        self._check_invitable()
        if not self.administers(invitation.invited_by):
            raise Conflict(
                "the administrator who sent this invitation no longer administers the "
                "account: ask its administrators for a new one"
            )
        self._check_roles_still_allowed(invitation.roles)
        self.settle(at)
        membership, decided = self.admit(user, invitation.roles, invitation.invited_by, at)
        invitation.close(ACCEPTED, str(user.user_id), at)
        invitation.membership_id = membership.membership_id
        payload = InvitationAcceptedPayload(
            invitation_id=invitation.invitation_id,
            account_id=self.id,
            account_name=self.legal_name,
            nit=self.nit,
            membership_id=membership.membership_id,
            user=user,
            roles=membership.roles,
            invited_by=invitation.invited_by,
            accepted_at=at,
        )
        return [*decided, new_event(InvitationAccepted, PRODUCER, payload)]

    def settle(self, now: datetime) -> None:
        """Record what time has decided (pending past expiry: expired) and forget what closed
        long ago; the next write of the account stores it."""
        kept = []
        for invitation in self.invitations:
            if invitation.state == PENDING and now >= invitation.expires_at:
                invitation.close(EXPIRED, None, invitation.expires_at)
            if invitation.closed_at is None or now - invitation.closed_at < CLOSED_KEPT:
                kept.append(invitation)
        if len(kept) != len(self.invitations):
            self.invitations = kept

    # -- the rules ----------------------------------------------------------------------------
    def _find(self, invitation_id: str) -> Invitation:
        invitation = self.invitation(invitation_id)
        if invitation is None:
            raise NotFound(f"no invitation {invitation_id} in this account")
        return invitation

    def _check_invitable(self) -> None:
        if not self.joinable:
            raise Conflict(f"the account is {self.status}: it takes no new members")
        if self.is_natural_person:
            raise Conflict("a natural-person supplier is a one-user account")

    def _check_roles_still_allowed(self, roles: list[str]) -> None:
        """Roles valid when invited may not be any more (a mixed profile withdrawn)."""
        if message := m.roles_error(roles, self.kind, self.mixed_profile):
            raise Conflict(f"the invited roles no longer apply: {message}")

    def _check_address(
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

    def _check_room(self, at: datetime, max_pending: int) -> None:
        if len(self.pending_invitations(at)) >= max_pending:
            raise Conflict(
                f"the account has {max_pending} pending invitations: revoke some or wait for "
                "them to be accepted or to expire"
            )

    def _invited(
        self, invitation: Invitation, sealed_token: str, inviter_name: str, *, resent: bool
    ) -> Event:
        payload = MemberInvitedPayload(
            invitation_id=invitation.invitation_id,
            account_id=self.id,
            account_name=self.legal_name,
            nit=self.nit,
            kind=self.kind,
            name=invitation.name,
            email=invitation.email,
            roles=invitation.roles,
            invited_by=invitation.invited_by,
            inviter_name=inviter_name,
            sealed_invitation_token=sealed_token,
            resent=resent,
            invited_at=invitation.invited_at,
            sent_at=invitation.sent_at,
            expires_at=invitation.expires_at,
        )
        return new_event(MemberInvited, PRODUCER, payload)
