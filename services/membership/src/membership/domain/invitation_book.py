"""The account's invitations as rules of the account: invite, send again, revoke, accept.

The roster's rules apply as they are (only its administrators act; roles from the same allowed
set; a user holds one live membership), and these add their own: only an active account
invites; one live invitation per address, none to an address a live member of the account
holds; a bounded number pending and kept, a budget of emails per day, a resend at most once
per interval and a bounded number of times; and an acceptance only by the invited address,
once, while the administrator who sent it still administers the account.

An accepted invitation begins a membership either with ``InvitationAccepted`` alone (no access
request was pending) or with ``AccessDecided`` (accepted) as well, when it decides the
invitee's pending request: readers of membership facts must read both (see
``domain.invitations``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from uuid import UUID

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
from secop_runtime.errors import Conflict, DomainError, Refused, Throttled
from secop_runtime.events import new_event

from membership.domain import memberships as m
from membership.domain.invitation_records import InvitationRecords
from membership.domain.invitations import (
    ACCEPTED,
    ACCOUNT_REJECTED,
    ALREADY_MEMBER,
    EXPIRED,
    INVITER_LEFT,
    PENDING,
    REVOKED,
    VOID,
    Invitation,
    InvitationRules,
    LinkProblem,
    invitee_name,
    problem_of,
    refused,
)
from membership.domain.roster import PRODUCER, already

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
    """A pending invitation; the name must be a name (``invitee_name``: else 422)."""
    return Invitation(
        invitation_id=invitation_id,
        name=invitee_name(name),
        email=email,
        email_key=email_key,
        roles=sorted(set(roles)),
        invited_by=by,
        invited_at=at,
        sent_at=at,
        expires_at=at + ttl,
        token_hash=token_hash,
    )


#: What accepting an invitation gives: the events, and a refusal to answer once they are
#: stored (an invitation that can no longer be accepted is closed, and the invitee told so).
Acceptance = tuple[list[Event], DomainError | None]


class InvitationBook(InvitationRecords):
    """The roster, and the invitations that lead into it."""

    def invite(
        self,
        invitation: Invitation,
        sealed_token: str,
        inviter_name: str,
        emails: Mapping[str, str],
        rules: InvitationRules,
    ) -> list[Event]:
        """A new invitation (its link's token travels only as ``sealed_token``). ``emails``:
        the email key of each user of the roster, as the user view knows them."""
        at = invitation.invited_at
        self.require_administrator(invitation.invited_by)
        self.check_roles(invitation.roles)
        self.check_may_invite()
        self.settle(at, rules)
        self.check_address(invitation.email_key, emails, at)
        self.check_room(at, rules.max_pending)
        self.spend_email(at, rules)
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
        rules: InvitationRules,
    ) -> list[Event]:
        """A new link (the older one stops working) and a new expiry, for a pending or expired
        invitation sent fewer than ``max_sends`` times; ``by`` becomes the administrator it
        comes from."""
        self.require_administrator(by)
        self.settle(at, rules)
        invitation = self.find_invitation(invitation_id)
        if invitation.state not in (PENDING, EXPIRED):
            raise Conflict(
                f"the invitation is {invitation.state}: only a pending or expired one is sent "
                "again",
                state=invitation.state,
            )
        if invitation.sends >= rules.max_sends:
            # Not 429: waiting would not help, this invitation will not be sent again.
            raise Conflict(
                f"this invitation has been sent {invitation.sends} times, the limit: create a "
                "new invitation after revoking this one (an expired one needs no revoking)",
                sends=invitation.sends,
            )
        wait = invitation.sent_at + rules.resend_interval - at
        if wait > timedelta(0):
            raise Throttled(
                "this invitation was sent a moment ago: wait before sending it again",
                wait.total_seconds(),
            )
        self.check_may_invite()
        self.check_roles_still_allowed(invitation.roles)
        self.check_address(invitation.email_key, emails, at, but=invitation_id)
        if invitation.state == EXPIRED:
            self.check_room(at, rules.max_pending)
        self.spend_email(at, rules)
        invitation.token_hash, invitation.invited_by = token_hash, by
        invitation.sent_at, invitation.expires_at = at, at + rules.ttl
        invitation.sends += 1
        invitation.state, invitation.closed_at, invitation.closed_by = PENDING, None, None
        invitation.closed_reason = None
        return [self._invited(invitation, sealed_token, inviter_name, resent=True)]

    def revoke(
        self,
        invitation_id: str,
        by: str,
        at: datetime,
        rules: InvitationRules,
        *,
        may_notify: bool = True,
    ) -> list[Event]:
        """Withdraw a pending invitation: its link stops working. Never refused for the
        budget (withdrawing must always be possible): past it, or when ``may_notify`` is
        false (the address's own daily budget is spent), the invitee is not emailed."""
        self.require_administrator(by)
        self.settle(at, rules)
        invitation = self.find_invitation(invitation_id)
        if invitation.state != PENDING:
            raise Conflict(
                f"the invitation is {invitation.state}: only a pending one is revoked",
                state=invitation.state,
            )
        invitation.close(REVOKED, by, at)
        notify = may_notify and self.may_email(at, rules)
        if notify:
            self.spend_email(at, rules)
        self.settle(at, rules)  # the closed ones kept stay within the most
        return [self._revoked(invitation, UUID(by), at, "revoked", notify=notify)]

    def close_pending_invitations(self, agent_id: UUID, at: datetime) -> list[Event]:
        """The service desk rejected the account: every pending invitation goes void, and
        each invitee is told (these notices are not the administrators' to spend)."""
        events = []
        for invitation in self.pending_invitations(at):
            invitation.close(VOID, None, at, ACCOUNT_REJECTED)
            events.append(self._revoked(invitation, agent_id, at, "account_rejected"))
        return events

    def accept_invitation(
        self,
        invitation_id: str,
        token: str,
        user: PersonRef,
        user_email_key: str,
        at: datetime,
        rules: InvitationRules,
    ) -> Acceptance:
        """The invitee, signed in as ``user``, follows the current link of a live invitation
        sent to their address: they become an accepted member with the invited roles.

        If the administrator who sent it no longer administers the account, or the invitee
        is a member already, the invitation goes void (no longer pending) and the refusal
        comes back to be answered once that is stored."""
        invitation = self.invitation(invitation_id)
        if problem := problem_of(invitation, token, at):
            raise refused(problem)
        assert invitation is not None  # no problem: found
        if user_email_key != invitation.email_key:
            raise Refused(WRONG_ADDRESS)
        self.check_joinable()
        self.settle(at, rules)
        if not self.administers(invitation.invited_by):
            # Generic on purpose: the invitee need not learn who administers the account.
            return self._void(invitation, INVITER_LEFT, at, rules, refused(LinkProblem.VOID))
        if self.accepted(str(user.user_id)) is not None:
            return self._void(invitation, ALREADY_MEMBER, at, rules, already(m.ACCEPTED))
        self.check_roles_still_allowed(invitation.roles)
        membership, decided = self.admit(user, invitation.roles, invitation.invited_by, at)
        invitation.close(ACCEPTED, str(user.user_id), at)
        invitation.membership_id = membership.membership_id
        self.settle(at, rules)
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
        return [*decided, new_event(InvitationAccepted, PRODUCER, payload)], None

    def _void(
        self,
        invitation: Invitation,
        reason: str,
        at: datetime,
        rules: InvitationRules,
        refusal: DomainError,
    ) -> Acceptance:
        invitation.close(VOID, None, at, reason)
        self.settle(at, rules)
        return [], refusal

    def _revoked(
        self, invitation: Invitation, by: UUID, at: datetime, reason: str, *, notify: bool = True
    ) -> Event:
        payload = InvitationRevokedPayload(
            invitation_id=invitation.invitation_id,
            account_id=self.id,
            account_name=self.legal_name,
            nit=self.nit,
            name=invitation.name,
            email=invitation.email,
            revoked_by=by,
            revoked_at=at,
            reason=reason,
            notify_invitee=notify,
        )
        return new_event(InvitationRevoked, PRODUCER, payload)

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
