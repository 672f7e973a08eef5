"""An account's roster ("Administración de usuarios"): who asked to join, who was let in, and
with which roles. Part of the account aggregate (``domain.accounts``), so each decision is
taken on the account's current roster and saved only if nobody changed it meanwhile: two
administrators cancelling each other at once cannot both succeed, nor can two decisions on one
request, nor two live requests of one user.

A membership begins accepted in one of two ways, and a reader of membership facts must read
both: ``AccessDecided`` with ``decision: "accepted"`` (an administrator accepted an access
request, or an invitation decided the invitee's pending request: ``admit``), or
``InvitationAccepted`` alone (an invitee with no pending request: ``admit`` starts the
membership accepted and emits no ``AccessDecided``, since no request was made that a decision
would answer). Both carry the membership id and its roles.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel
from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import (
    AccessDecided,
    AccessDecidedPayload,
    AccessRequested,
    AccessRequestedPayload,
    MemberRolesChanged,
    MemberRolesChangedPayload,
)
from secop_runtime.errors import Conflict, Invalid, NotFound, Refused
from secop_runtime.events import new_event

from membership.domain import memberships as m
from membership.domain import notices

PRODUCER = "membership"


def already(status: str) -> Conflict:
    what = "are already a member" if status == m.ACCEPTED else "already asked and are waiting"
    return Conflict(f"you {what} of this account", status=status)


class Roster(BaseModel):
    """The account's memberships, history included."""

    members: list[m.Membership] = []

    if TYPE_CHECKING:  # the account's fields the roster's rules read
        id: str
        kind: str
        status: str
        legal_name: str
        nit: str
        mixed_profile: bool
        joinable: bool
        is_natural_person: bool

    def member(self, user_id: str) -> m.Membership | None:
        """The user's live membership, else their most recent one."""
        return m.latest(self.members, user_id)

    def accepted(self, user_id: str) -> m.Membership | None:
        found = self.member(user_id)
        return found if found is not None and found.status == m.ACCEPTED else None

    def administers(self, user_id: str) -> bool:
        found = self.accepted(user_id)
        return found is not None and found.administers

    @property
    def administrators(self) -> list[str]:
        return m.administrators(self.members)

    def receivers(self, notice: str) -> list[str]:
        """Who among the members receives ``notice`` (``domain.notices``)."""
        return notices.receivers(self.members, notice)

    def choose_notices(self, user_id: str, chosen: list[str]) -> list[str]:
        """An accepted member's choice of the account's notices; returns it as kept."""
        membership = self.accepted(user_id)
        if membership is None:
            raise Refused("only the account's members choose its notices")
        membership.notices = notices.check_choice(self.members, membership, chosen)
        return membership.notices

    def request_access(
        self,
        user: PersonRef,
        administrators: list[PersonRef],
        at: datetime,
        recipients: list[PersonRef] | None = None,
    ) -> list[Event]:
        """A user asks to join an existing (not draft) account; the administrators who receive
        access requests (``recipients``) are told."""
        if not self.joinable:
            raise Conflict(f"the account is {self.status}: it takes no access requests")
        if self.is_natural_person:
            raise Conflict("a natural-person supplier is a one-user account")
        existing = self.member(str(user.user_id))
        if existing is not None and existing.live:
            raise already(existing.status)
        membership = m.Membership(
            membership_id=str(uuid.uuid4()),
            user_id=str(user.user_id),
            status=m.PENDING,
            requested_at=at,
            status_changed_at=at,
        )
        self.members = [*self.members, membership]
        payload = AccessRequestedPayload(
            membership_id=membership.membership_id,
            account_id=self.id,
            account_name=self.legal_name,
            nit=self.nit,
            user=user,
            administrators=administrators,
            notice_recipients=recipients,
            requested_at=at,
        )
        return [new_event(AccessRequested, PRODUCER, payload)]

    def decide(
        self,
        user: PersonRef,
        action: str,
        by: str,
        at: datetime,
        *,
        roles: list[str] | None = None,
        reason: str = "",
        recipients: list[PersonRef] | None = None,
    ) -> list[Event]:
        """accept (with roles), reject (with a reason), cancel, or revert a rejection; the
        members who follow decisions (``recipients``) hear of it, except its decider."""
        self.require_administrator(by)
        user_id = str(user.user_id)
        if action == "accept":
            self.check_roles(roles or [])
        membership = self.member(user_id)
        if membership is None:
            raise NotFound(f"user {user_id} has no membership in this account")
        m.next_status(action, membership.status)  # refuses before any other rule
        if action == "cancel":
            self._keep_an_administrator(user_id, None)
        membership.apply(action, by, at, roles, reason)
        return [self._decided(membership, user, action, by, at, reason, recipients)]

    def admit(
        self, user: PersonRef, roles: list[str], by: str, at: datetime
    ) -> tuple[m.Membership, list[Event]]:
        """Let a user in with ``roles`` on an administrator's earlier word (an invitation
        ``by`` them): a pending access request of theirs is accepted, as that administrator
        would accept it (``AccessDecided``); otherwise a membership starts accepted, and no
        request was made that a decision would answer. Already a member: 409."""
        user_id = str(user.user_id)
        existing = self.member(user_id)
        if existing is not None and existing.status == m.ACCEPTED:
            raise already(m.ACCEPTED)
        if existing is not None and existing.status == m.PENDING:
            existing.apply("accept", by, at, roles, "")
            return existing, [self._decided(existing, user, "accept", by, at, "")]
        membership = m.Membership(
            membership_id=str(uuid.uuid4()),
            user_id=user_id,
            status=m.ACCEPTED,
            roles=sorted(set(roles)),
            requested_at=at,
            status_changed_at=at,
            accepted_at=at,
            decided_by=by,
        )
        self.members = [*self.members, membership]
        return membership, []

    def _decided(
        self,
        membership: m.Membership,
        user: PersonRef,
        action: str,
        by: str,
        at: datetime,
        reason: str,
        recipients: list[PersonRef] | None = None,
    ) -> Event:
        if recipients is not None:
            told = {by, str(user.user_id)}
            recipients = [r for r in recipients if str(r.user_id) not in told]
        payload = AccessDecidedPayload(
            membership_id=membership.membership_id,
            account_id=self.id,
            account_name=self.legal_name,
            nit=self.nit,
            user=user,
            decision=m.TRANSITIONS[action][2],
            roles=membership.roles,
            reason=reason,
            decided_by=by,
            decided_at=at,
            notice_recipients=recipients,
        )
        return new_event(AccessDecided, PRODUCER, payload)

    def set_roles(self, user_id: str, roles: list[str], by: str, at: datetime) -> list[Event]:
        """An accepted member's roles; the account keeps an administrator."""
        self.require_administrator(by)
        self.check_roles(roles)
        membership = self.accepted(user_id)
        if membership is None:
            raise Conflict("only an accepted member has roles")
        roles = sorted(set(roles))
        self._keep_an_administrator(user_id, roles)
        if membership.roles == roles:
            return []
        membership.roles, membership.roles_changed_at = roles, at
        payload = MemberRolesChangedPayload(
            membership_id=membership.membership_id,
            account_id=self.id,
            user_id=user_id,
            roles=roles,
            changed_by=by,
            changed_at=at,
        )
        return [new_event(MemberRolesChanged, PRODUCER, payload)]

    def require_administrator(self, user_id: str) -> None:
        """Asked again on the state being changed: an administrator cancelled a moment ago
        decides nothing more."""
        if not self.administers(user_id):
            raise Refused("only the account's administrators may do this")

    def check_roles(self, roles: list[str]) -> None:
        if message := m.roles_error(roles, self.kind, self.mixed_profile):
            raise Invalid(message, field="roles")

    def _keep_an_administrator(self, user_id: str, new_roles: list[str] | None) -> None:
        if m.loses_last_admin(set(self.administrators), user_id, new_roles):
            raise Conflict(m.LAST_ADMINISTRATOR)
