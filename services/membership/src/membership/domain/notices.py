"""Suscripción a notificaciones: which of the account's notices reach each member.

A member's choice is kept on their membership (``Membership.notices``; ``None`` until they
choose: the defaults of their role). Membership resolves the receivers when it writes the event
that causes a notice (``notice_recipients`` in the contracts), so notification honours the
choices from the event alone and never calls back.

- Administrators receive access requests and the account's activation notices by default;
  other members receive nothing until they choose.
- Access requests and access decisions name people who are not yet members: only
  administrators may receive them (a member who loses the role stops receiving them).
- Someone must hear of an access request: an administrator may stop receiving them only while
  another administrator receives them, and if none does (the one who did was cancelled) every
  administrator receives them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from secop_contracts.membership import NOTICES
from secop_runtime.errors import Conflict, Invalid

from membership.domain import memberships as m

ACCESS_REQUESTS = "access_requests"
#: Notices about people outside the account: for administrators only.
ADMINISTRATORS_ONLY = frozenset({ACCESS_REQUESTS, "access_decisions"})
ADMINISTRATOR_DEFAULTS = frozenset({ACCESS_REQUESTS, "activation"})
MEMBER_DEFAULTS: frozenset[str] = frozenset()
SOMEONE_MUST_HEAR = (
    "another administrator must receive access requests before you stop: an account's access "
    "requests always reach at least one administrator"
)


def available(membership: m.Membership) -> list[str]:
    """The notices this member may choose, in the contracts' order."""
    if membership.administers:
        return list(NOTICES)
    return [n for n in NOTICES if n not in ADMINISTRATORS_ONLY]


def chosen(membership: m.Membership) -> set[str]:
    """What the member receives by their own choice (or their role's defaults)."""
    if membership.notices is not None:
        picked = set(membership.notices)
    else:
        picked = set(ADMINISTRATOR_DEFAULTS if membership.administers else MEMBER_DEFAULTS)
    return picked & set(available(membership))


def receivers(members: Sequence[m.Membership], notice: str) -> list[str]:
    """The user ids of the accepted members who receive ``notice`` (an access request: every
    administrator when none chose it)."""
    accepted = [x for x in members if x.status == m.ACCEPTED]
    found = [x.user_id for x in accepted if notice in chosen(x)]
    if notice == ACCESS_REQUESTS and not found:
        found = [x.user_id for x in accepted if x.administers]
    return found


def check_choice(
    members: Sequence[m.Membership], membership: m.Membership, notices: Iterable[str]
) -> list[str]:
    """The member's new choice, in the contracts' order, if they may make it."""
    wanted = set(notices)
    if unknown := sorted(wanted - set(NOTICES)):
        raise Invalid(
            f"unknown notices: {', '.join(unknown)} (the notices are: {', '.join(NOTICES)})",
            field="notices",
        )
    if refused := sorted(wanted - set(available(membership))):
        raise Invalid(f"only administrators may receive: {', '.join(refused)}", field="notices")
    if membership.administers and ACCESS_REQUESTS not in wanted:
        others = [
            x
            for x in members
            if x.membership_id != membership.membership_id
            and x.status == m.ACCEPTED
            and ACCESS_REQUESTS in chosen(x)
        ]
        if not others:
            raise Conflict(SOMEONE_MUST_HEAR)
    return [n for n in NOTICES if n in wanted]
