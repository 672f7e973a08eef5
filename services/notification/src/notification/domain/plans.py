"""Which emails an event causes, to whom, with what data: the table of issue 6, as code.

Each plan keeps only what its template shows (no document numbers or phones are stored), and a
sealed token stays sealed: it is opened only when the email is rendered.

An account's notices go to the members who chose them ("Suscripción a notificaciones"):
membership names them in the event (``notice_recipients``), so nothing here calls it back. An
event written before subscriptions existed names none (``None``): access requests and activation
then go to the administrators, as before, and the newer notices to nobody; an empty list means
nobody chose the notice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import (
    AccessDecided,
    AccessRequested,
    AccountActivated,
    AccountCaseUpdated,
    AccountChangesRequested,
    AccountRejected,
    AccountSummary,
    EntitySubmitted,
    InvitationRevoked,
    LibraryDocumentChanged,
    MemberInvited,
)
from secop_contracts.registration import (
    AccountChangeNotice,
    ConfirmationRequested,
    PasswordChanged,
    PasswordResetRequested,
    SignUpAttempted,
    UsernameRecoveryRequested,
    UserRegistered,
)
from secop_contracts.support import CaseMessageAdded, CaseOpened, CaseResolved, Requester

DEFAULT_TIME_ZONE = "America/Bogota"
#: The roles inside an account as the guides name them.
ROLE_NAMES = {
    "administrator": "Usuario Administrador",
    "buyer": "Usuario Comprador",
    "supplier": "Usuario Proveedor",
}


@dataclass(frozen=True)
class EmailSpec:
    template: str
    address: str
    name: str
    time_zone: str
    context: dict[str, Any]
    sealed_token: str | None = None


def _user_registered(e: UserRegistered) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "full_name": p.full_name,
        "username": p.username,
        "account_name": p.account_name,
        "expires_at": p.confirmation_expires_at,
    }
    return [
        EmailSpec(
            "account_confirmation",
            p.email,
            p.full_name,
            p.time_zone,
            ctx,
            p.sealed_confirmation_token,
        )
    ]


def _confirmation_requested(e: ConfirmationRequested) -> list[EmailSpec]:
    p = e.payload
    template = "email_change_confirmation" if p.reason == "email_change" else "account_confirmation"
    ctx = {
        "full_name": p.full_name,
        "username": p.username,
        "account_name": p.account_name,
        "expires_at": p.expires_at,
    }
    return [
        EmailSpec(template, p.email, p.full_name, p.time_zone, ctx, p.sealed_confirmation_token)
    ]


def _sign_up_attempted(e: SignUpAttempted) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "full_name": p.full_name,
        "username": p.username,
        "matched": list(p.matched),
        "at": p.attempted_at,
    }
    return [EmailSpec("sign_up_attempted", p.email, p.full_name, p.time_zone, ctx)]


def _account_change(e: AccountChangeNotice) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "full_name": p.full_name,
        "username": p.username,
        "previous_username": p.previous_username or "",
        "new_email_hint": p.new_email_hint or "",
        "revert_expires_at": p.revert_expires_at,
        "restores_email_hint": p.restores_email_hint or "",
        "at": p.changed_at,
    }
    return [EmailSpec(p.change, p.email, p.full_name, p.time_zone, ctx, p.sealed_revert_token)]


def _password_reset(e: PasswordResetRequested) -> list[EmailSpec]:
    p = e.payload
    ctx = {"full_name": p.full_name, "username": p.username, "expires_at": p.expires_at}
    # A lock's link is a reset link too: setting a new password lifts the lock.
    template = {"locked": "account_locked", "email_reverted": "password_after_revert"}.get(
        p.reason, "password_reset"
    )
    return [EmailSpec(template, p.email, p.full_name, p.time_zone, ctx, p.sealed_reset_token)]


def _password_changed(e: PasswordChanged) -> list[EmailSpec]:
    p = e.payload
    ctx = {"full_name": p.full_name, "username": p.username, "via": p.via, "at": p.changed_at}
    return [EmailSpec("password_changed", p.email, p.full_name, p.time_zone, ctx)]


def _username_recovery(e: UsernameRecoveryRequested) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "full_name": p.full_name,
        "disclose": p.disclose,
        "username": p.username or "",
        "email_hint": p.email_hint or "",
        "case_number": p.case_number or "",
    }
    return [EmailSpec("username_recovery", p.email, p.full_name, p.time_zone, ctx)]


def _access_requested(e: AccessRequested) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "account_name": p.account_name,
        "nit": p.nit,
        "requester_name": p.user.full_name,
        "requester_email": p.user.email,
        "requested_at": p.requested_at,
    }
    return [
        EmailSpec("access_requested", a.email, a.full_name, a.time_zone, {**ctx, "full_name": ""})
        for a in _chosen(p.notice_recipients, p.administrators)
    ]


def _access_decided(e: AccessDecided) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "full_name": p.user.full_name,
        "account_name": p.account_name,
        "nit": p.nit,
        "decision": p.decision,
        "reason": p.reason,
        "decided_at": p.decided_at,
    }
    own = EmailSpec("access_decided", p.user.email, p.user.full_name, p.user.time_zone, ctx)
    # Members who follow decisions: who and what, never the user's address; the reason (the
    # administrator's words to the user) only for a rejection, where it explains the decision.
    notice = {
        "member_name": p.user.full_name,
        "account_name": p.account_name,
        "nit": p.nit,
        "decision": p.decision,
        "reason": p.reason if p.decision == "rejected" else "",
        "decided_at": p.decided_at,
    }
    # ``_unique`` keeps the user's own email first should they also be named a follower.
    return _unique([own, *_to_each("member_access_decided", p.notice_recipients or [], notice)])


def _member_invited(e: MemberInvited) -> list[EmailSpec]:
    """The invitee may have no user yet: addressed by the name and email the administrator
    wrote, in Bogotá's time; the link's token stays sealed until the email is rendered."""
    p = e.payload
    ctx = {
        "full_name": p.name,
        "email": p.email,
        "account_name": p.account_name,
        "nit": p.nit,
        "inviter_name": p.inviter_name,
        "roles": [ROLE_NAMES.get(r, r) for r in p.roles],
        "resent": p.resent,
        "expires_at": p.expires_at,
    }
    return [
        EmailSpec(
            "member_invited",
            p.email,
            p.name,
            DEFAULT_TIME_ZONE,
            ctx,
            p.sealed_invitation_token,
        )
    ]


def _invitation_revoked(e: InvitationRevoked) -> list[EmailSpec]:
    """A short notice: the link the invitee holds no longer works (withdrawn by an
    administrator, or void with its rejected account). None when membership says the invitee
    is not to be told (the account's or the address's invitation emails were spent)."""
    p = e.payload
    if not p.notify_invitee:
        return []
    ctx = {
        "full_name": p.name,
        "account_name": p.account_name,
        "nit": p.nit,
        "revoked_at": p.revoked_at,
        "reason": p.reason,
    }
    return [EmailSpec("invitation_revoked", p.email, p.name, DEFAULT_TIME_ZONE, ctx)]


def _account_audience(
    template: str, p: AccountSummary, ctx: dict[str, Any], extra: Iterable[PersonRef] = ()
) -> list[EmailSpec]:
    """The account's notification address and each member who chose the account's activation
    notices (the administrators for an event from before subscriptions), once per address."""
    base = {
        "account_name": p.legal_name,
        "nit": p.nit,
        "kind": p.kind,
        "full_name": "",
        **ctx,
    }
    specs = [EmailSpec(template, p.notification_email, p.legal_name, DEFAULT_TIME_ZONE, base)]
    people = [*extra, *_chosen(p.notice_recipients, p.administrators)]
    return _unique([*specs, *_to_each(template, people, base)])


def _chosen(recipients: list[PersonRef] | None, before: list[PersonRef]) -> list[PersonRef]:
    """The members who chose a notice; ``before`` for an event written before subscriptions
    existed (``None``). An empty list is a choice too: nobody."""
    return before if recipients is None else recipients


def _to_each(template: str, people: Iterable[PersonRef], ctx: dict[str, Any]) -> list[EmailSpec]:
    """One email per person, addressed by their own name, with dates in their own zone."""
    return _unique(
        [
            EmailSpec(
                template, x.email, x.full_name, x.time_zone, {**ctx, "full_name": x.full_name}
            )
            for x in people
        ]
    )


def _entity_submitted(e: EntitySubmitted) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "submitted_at": p.submitted_at,
        "resubmission": p.resubmission,
        "documents": [d.filename for d in p.documents],
    }
    return _account_audience("entity_submitted", p, ctx, extra=[p.submitted_by])


def _account_decision(template: str) -> Callable[[Any], list[EmailSpec]]:
    def plan(e: AccountActivated | AccountChangesRequested | AccountRejected) -> list[EmailSpec]:
        p = e.payload
        ctx = {
            "message": p.message,
            "case_number": p.case_number or "",
            "decided_at": p.decided_at,
        }
        return _account_audience(template, p, ctx)

    return plan


def _library_document_changed(e: LibraryDocumentChanged) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "account_name": p.account_name,
        "nit": p.nit,
        "title": p.title,
        "action": p.action,
        "version": p.version,
        "filename": p.filename,
        "changed_at": p.changed_at,
    }
    return _to_each("library_document_changed", p.notice_recipients or [], ctx)


def _account_case_updated(e: AccountCaseUpdated) -> list[EmailSpec]:
    """The case's number and state only: its messages are the requester's and the desk's."""
    p = e.payload
    ctx = {
        "account_name": p.account_name,
        "nit": p.nit,
        "case_number": p.case_number,
        "change": p.change,
        "status": p.status,
        "request_type": p.request_type,
        "changed_at": p.changed_at,
    }
    return _to_each("account_case_updated", p.notice_recipients or [], ctx)


def _requester(template: str, r: Requester, ctx: dict[str, Any]) -> list[EmailSpec]:
    return [
        EmailSpec(template, r.email, r.full_name, r.time_zone, {"full_name": r.full_name, **ctx})
    ]


def _case_opened(e: CaseOpened) -> list[EmailSpec]:
    p = e.payload
    ctx = {
        "case_number": p.case_number,
        "subject": p.subject,
        "request_type": p.request_type,
        "system": p.system.replace("_", " "),
        "opened_at": p.opened_at,
        "due_at": p.first_response_due,
    }
    r = p.requester
    ctx = {"full_name": r.full_name, **ctx, "access_key": ""}  # filled in when rendered
    # The access key stays sealed until the email is rendered.
    return [EmailSpec("case_opened", r.email, r.full_name, r.time_zone, ctx, p.sealed_access_key)]


def _case_message(e: CaseMessageAdded) -> list[EmailSpec]:
    p = e.payload
    if p.author != "agent":  # the requester's own words are not mailed back to them
        return []
    ctx = {"case_number": p.case_number, "body": p.body, "added_at": p.added_at}
    return _requester("case_message", p.requester, ctx)


def _case_resolved(e: CaseResolved) -> list[EmailSpec]:
    p = e.payload
    ctx = {"case_number": p.case_number, "resolution": p.resolution, "resolved_at": p.resolved_at}
    return _requester("case_resolved", p.requester, ctx)


def _unique(specs: list[EmailSpec]) -> list[EmailSpec]:
    seen: set[str] = set()
    out = []
    for s in specs:
        key = s.address.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(s)
    return out


PLANS: dict[type[Event], Callable[[Any], list[EmailSpec]]] = {
    UserRegistered: _user_registered,
    SignUpAttempted: _sign_up_attempted,
    ConfirmationRequested: _confirmation_requested,
    PasswordResetRequested: _password_reset,
    PasswordChanged: _password_changed,
    UsernameRecoveryRequested: _username_recovery,
    AccountChangeNotice: _account_change,
    AccessRequested: _access_requested,
    AccessDecided: _access_decided,
    MemberInvited: _member_invited,
    InvitationRevoked: _invitation_revoked,
    EntitySubmitted: _entity_submitted,
    AccountActivated: _account_decision("account_activated"),
    AccountChangesRequested: _account_decision("account_changes_requested"),
    AccountRejected: _account_decision("account_rejected"),
    LibraryDocumentChanged: _library_document_changed,
    AccountCaseUpdated: _account_case_updated,
    CaseOpened: _case_opened,
    CaseMessageAdded: _case_message,
    CaseResolved: _case_resolved,
}

TEMPLATES: tuple[str, ...] = (
    "account_confirmation",
    "sign_up_attempted",
    "email_change_confirmation",
    "password_reset",
    "account_locked",
    "password_after_revert",
    "password_changed",
    "username_recovery",
    "email_change_requested",
    "email_changed",
    "email_change_reverted",
    "username_changed",
    "access_requested",
    "access_decided",
    "member_access_decided",
    "member_invited",
    "invitation_revoked",
    "entity_submitted",
    "account_activated",
    "account_changes_requested",
    "account_rejected",
    "library_document_changed",
    "account_case_updated",
    "case_opened",
    "case_message",
    "case_resolved",
)


def plan(event: Event) -> list[EmailSpec]:
    """The emails ``event`` causes (none for an event type nobody must hear about)."""
    planner = PLANS.get(type(event))
    return _unique(planner(event)) if planner else []
