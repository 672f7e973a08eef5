"""One sample of every event notification consumes, for template and end-to-end tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from secop_contracts import Event
from secop_contracts.common import PersonRef
from secop_contracts.membership import (
    AccessDecided,
    AccessRequested,
    AccountActivated,
    AccountCaseUpdated,
    AccountChangesRequested,
    AccountRejected,
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
from secop_runtime.sealing import seal

NOW = datetime(2026, 3, 3, 19, 5, tzinfo=UTC)  # 2:05 p. m. in Bogotá


def person(email: str, name: str = "Ana Pérez", tz: str = "America/Bogota") -> PersonRef:
    return PersonRef(user_id=uuid4(), full_name=name, email=email, time_zone=tz)


def user_registered(
    public_key: str, email: str, link_code: str = "tok-123", account: str = "F&F ASOCIADOS"
) -> UserRegistered:
    return UserRegistered(
        producer="registration",
        payload={
            "user_id": uuid4(),
            "username": "ana.perez",
            "full_name": "Ana Pérez",
            "email": email,
            "country": "CO",
            "document_type": "CC",
            "document_number": "1020304050",
            "mobile_phone": "+573001234567",
            "time_zone": "America/Bogota",
            "account_name": account,
            "sealed_confirmation_token": seal(public_key, link_code),
            "confirmation_expires_at": NOW + timedelta(days=1),
            "registered_at": NOW,
        },
    )


def password_reset(
    public_key: str, email: str, link_code: str = "reset-456", reason: str = "requested"
) -> PasswordResetRequested:
    return PasswordResetRequested(
        producer="registration",
        payload={
            "user_id": uuid4(),
            "username": "ana.perez",
            "full_name": "Ana Pérez",
            "email": email,
            "time_zone": "America/Bogota",
            "sealed_reset_token": seal(public_key, link_code),
            "expires_at": NOW + timedelta(hours=2),
            "reason": reason,
        },
    )


def account(email: str, admins: list[PersonRef]) -> dict:
    return {
        "account_id": uuid4(),
        "kind": "entity",
        "legal_name": "ALCALDIA DE PRUEBA",
        "nit": "800111202",
        "notification_email": email,
        "administrators": admins,
    }


def requester(email: str) -> Requester:
    return Requester(full_name="Víctor Alfonso", email=email, time_zone="America/Bogota")


ACCOUNT_CHANGES = (
    "email_change_requested",
    "email_changed",
    "email_change_reverted",
    "username_changed",
)


def account_change(public_key: str, email: str, change: str) -> AccountChangeNotice:
    with_link = change in ("email_change_requested", "email_changed")
    return AccountChangeNotice(
        producer="registration",
        payload={
            "user_id": uuid4(),
            "username": "ana.perez",
            "full_name": "Ana Pérez",
            "email": email,
            "time_zone": "America/Bogota",
            "change": change,
            "new_email_hint": "o***o@o***o.co" if change.startswith("email") else None,
            "previous_username": "ana.vieja" if change == "username_changed" else None,
            "sealed_revert_token": seal(public_key, "revert-321") if with_link else None,
            "revert_expires_at": NOW + timedelta(days=7) if with_link else None,
            "restores_email_hint": "a***a@e***e.co" if with_link else None,
            "changed_at": NOW,
        },
    )


def member_invited(
    public_key: str,
    email: str,
    link_code: str = "invite-135",
    *,
    roles: tuple[str, ...] = ("administrator", "buyer"),
    inviter: str = "Admin Uno",
    resent: bool = False,
    account_name: str = "H&H ASOCIADOS",
) -> MemberInvited:
    return MemberInvited(
        producer="membership",
        payload={
            "invitation_id": uuid4(),
            "account_id": uuid4(),
            "account_name": account_name,
            "nit": "800111202",
            "kind": "entity",
            "name": "Carla Ruiz",
            "email": email,
            "roles": list(roles),
            "invited_by": uuid4(),
            "inviter_name": inviter,
            "sealed_invitation_token": seal(public_key, link_code),
            "resent": resent,
            "invited_at": NOW,
            "sent_at": NOW,
            "expires_at": NOW + timedelta(days=7),
        },
    )


def invitation_revoked(email: str, **extra: object) -> InvitationRevoked:
    return InvitationRevoked(
        producer="membership",
        payload={
            "invitation_id": uuid4(),
            "account_id": uuid4(),
            "account_name": "H&H ASOCIADOS",
            "nit": "800111202",
            "name": "Carla Ruiz",
            "email": email,
            "revoked_by": uuid4(),
            "revoked_at": NOW,
            **extra,
        },
    )


def access_decided(
    user: PersonRef,
    recipients: list[PersonRef] | None = None,
    decision: str = "accepted",
    reason: str = "",
) -> AccessDecided:
    """A decision on ``user``'s access; ``recipients``: the members who follow decisions."""
    return AccessDecided(
        producer="membership",
        payload={
            "membership_id": uuid4(),
            "account_id": uuid4(),
            "account_name": "H&H ASOCIADOS",
            "nit": "800111202",
            "user": user,
            "decision": decision,
            "reason": reason,
            "decided_by": uuid4(),
            "decided_at": NOW,
            "notice_recipients": recipients,
        },
    )


def library_document_changed(
    recipients: list[PersonRef] | None, **extra: object
) -> LibraryDocumentChanged:
    return LibraryDocumentChanged(
        producer="membership",
        payload={
            "account_id": uuid4(),
            "account_name": "H&H ASOCIADOS",
            "nit": "800111202",
            "kind": "supplier",
            "document_id": uuid4(),
            "title": "Certificado de <existencia>",
            "action": "added",
            "version": 1,
            "filename": "camara_comercio.pdf",
            "content_type": "application/pdf",
            "size": 2048,
            "sha256": "0" * 64,
            "changed_by": uuid4(),
            "changed_at": NOW,
            "notice_recipients": recipients,
            **extra,
        },
    )


def account_case_updated(recipients: list[PersonRef] | None, **extra: object) -> AccountCaseUpdated:
    return AccountCaseUpdated(
        producer="membership",
        payload={
            "account_id": uuid4(),
            "account_name": "H&H ASOCIADOS",
            "nit": "800111202",
            "case_number": "CCE-2026-000123",
            "change": "opened",
            "status": "open",
            "request_type": "solicitud",
            "changed_at": NOW,
            "notice_recipients": recipients,
            **extra,
        },
    )


def every_event(public_key: str, email: str) -> list[Event]:
    """Every consumed event type once, every email addressed to ``email``."""
    admin = person(email, "Admin <Uno>")
    acct = account(email, [admin])
    decision = {**acct, "message": "Revise el RUT.", "case_number": "C-1", "decided_at": NOW}
    return [
        user_registered(public_key, email),
        password_reset(public_key, email, "unlock-789", reason="locked"),
        password_reset(public_key, email, "after-revert-654", reason="email_reverted"),
        *(account_change(public_key, email, change) for change in ACCOUNT_CHANGES),
        SignUpAttempted(
            producer="registration",
            payload={
                "user_id": uuid4(),
                "username": "ana.perez",
                "full_name": "Ana Pérez",
                "email": email,
                "time_zone": "America/Bogota",
                "matched": ["document_number"],
                "attempted_at": NOW,
            },
        ),
        ConfirmationRequested(
            producer="registration",
            payload={
                "user_id": uuid4(),
                "username": "ana.perez",
                "full_name": "Ana Pérez",
                "email": email,
                "time_zone": "America/Bogota",
                "reason": "email_change",
                "sealed_confirmation_token": seal(public_key, "change-789"),
                "expires_at": NOW,
            },
        ),
        password_reset(public_key, email),
        PasswordChanged(
            producer="registration",
            payload={
                "user_id": uuid4(),
                "username": "ana.perez",
                "full_name": "Ana Pérez",
                "email": email,
                "time_zone": "America/Bogota",
                "via": "reset",
                "changed_at": NOW,
            },
        ),
        UsernameRecoveryRequested(
            producer="registration",
            payload={
                "user_id": uuid4(),
                "full_name": "Ana Pérez",
                "email": email,
                "time_zone": "America/Bogota",
                "asked_by": "document_number",
                "disclose": "username",
                "username": "ana.perez",
            },
        ),
        AccessRequested(
            producer="membership",
            payload={
                "membership_id": uuid4(),
                "account_id": uuid4(),
                "account_name": "H&H ASOCIADOS",
                "nit": "800111202",
                "user": person("solicitante@example.co", "Pedro Gómez"),
                "administrators": [admin],
                "requested_at": NOW,
            },
        ),
        AccessDecided(
            producer="membership",
            payload={
                "membership_id": uuid4(),
                "account_id": uuid4(),
                "account_name": "H&H ASOCIADOS",
                "nit": "800111202",
                "user": person(email),
                "decision": "accepted",
                "decided_by": uuid4(),
                "decided_at": NOW,
            },
        ),
        # Another user's decision, told to ``email`` as a member who follows decisions.
        access_decided(person(f"decidido.{email}", "Pedro Gómez"), [admin]),
        member_invited(public_key, email),
        invitation_revoked(email),
        library_document_changed([admin]),
        account_case_updated([admin]),
        EntitySubmitted(
            producer="membership",
            payload={
                **acct,
                "submitted_by": admin,
                "documents": [
                    {
                        "document_id": "d1",
                        "doc_type": "rut",
                        "filename": "rut.pdf",
                        "content_type": "application/pdf",
                        "size": 10,
                        "sha256": "0" * 64,
                    }
                ],
                "submitted_at": NOW,
            },
        ),
        AccountActivated(producer="membership", payload=decision),
        AccountChangesRequested(producer="membership", payload=decision),
        AccountRejected(producer="membership", payload=decision),
        CaseOpened(
            producer="support",
            payload={
                "case_number": "2026-000123",
                "requester": requester(email),
                "system": "SECOP_II",
                "request_type": "Solicitud",
                "subject": "Recuperación de usuario",
                "user_type": "proveedor",
                "description": "No recuerdo mi usuario",
                "opened_at": NOW,
                "first_response_due": NOW + timedelta(days=2),
                "sealed_access_key": seal(public_key, "clave-del-caso-77"),
            },
        ),
        CaseMessageAdded(
            producer="support",
            payload={
                "case_number": "2026-000123",
                "message_id": "m1",
                "author": "agent",
                "agent_id": uuid4(),
                "body": "Su usuario es <b>ana.perez</b>",
                "requester": requester(email),
                "added_at": NOW,
            },
        ),
        CaseResolved(
            producer="support",
            payload={
                "case_number": "2026-000123",
                "resolution": "Se reenviaron sus datos.",
                "requester": requester(email),
                "resolved_by": uuid4(),
                "resolved_at": NOW,
            },
        ),
    ]


def branch_events(public_key: str, email: str) -> list[Event]:
    """The template branches ``every_event`` leaves out (each access decision, the other
    disclosure, a supplier, a resubmission, a case without a key...), so that a test rendering
    both lists renders every text a template can show."""
    admin = person(email, "Admin Uno")
    supplier = {**account(email, [admin]), "kind": "supplier", "legal_name": "PROVEEDOR S.A.S."}
    access = {
        "membership_id": uuid4(),
        "account_id": uuid4(),
        "account_name": "H&H ASOCIADOS",
        "nit": "800111202",
        "user": person(email),
        "decided_by": uuid4(),
        "decided_at": NOW,
    }
    user = {
        "user_id": uuid4(),
        "username": "ana.perez",
        "full_name": "Ana Pérez",
        "email": email,
        "time_zone": "America/Bogota",
    }
    return [
        *(
            AccessDecided(
                producer="membership",
                payload={**access, "decision": decision, "reason": reason},
            )
            for decision, reason in (
                ("rejected", "No trabaja en la entidad."),
                ("cancelled", ""),
                ("reverted", ""),
            )
        ),
        *(
            access_decided(person(f"decidido.{email}", "Pedro Gómez"), [admin], decision, reason)
            for decision, reason in (
                ("rejected", "No trabaja en la entidad."),
                ("cancelled", ""),
                ("reverted", ""),
            )
        ),
        library_document_changed([admin], action="replaced", version=2),
        library_document_changed([admin], action="removed", version=3, filename=""),
        *(
            account_case_updated([admin], change=change, status=status, request_type="")
            for change, status in (
                ("answered", "open"),
                ("resolved", "resolved"),
                ("reopened", "open"),
            )
        ),
        *(
            SignUpAttempted(
                producer="registration",
                payload={**user, "matched": matched, "attempted_at": NOW},
            )
            for matched in (["email"], ["email", "document_number"])
        ),
        # sent again, by an administrator the view knew no name for, with one role
        member_invited(public_key, email, "invite-246", roles=("buyer",), inviter="", resent=True),
        # closed with its account, which the service desk rejected
        invitation_revoked(email, reason="account_rejected"),
        ConfirmationRequested(
            producer="registration",
            payload={
                **user,
                "reason": "resend",
                "sealed_confirmation_token": seal(public_key, "resend-246"),
                "expires_at": NOW,
            },
        ),
        PasswordChanged(
            producer="registration", payload={**user, "via": "profile", "changed_at": NOW}
        ),
        UsernameRecoveryRequested(
            producer="registration",
            payload={
                "user_id": uuid4(),
                "full_name": "Ana Pérez",
                "email": email,
                "time_zone": "America/Bogota",
                "asked_by": "support_case",
                "disclose": "email_hint",
                "email_hint": "a***a@e***e.co",
                "case_number": "CCE-2026-000025",
            },
        ),
        EntitySubmitted(
            producer="membership",
            payload={
                **account(email, [admin]),
                "submitted_by": admin,
                "resubmission": True,
                "submitted_at": NOW,
            },
        ),
        AccountActivated(producer="membership", payload={**supplier, "decided_at": NOW}),
        AccountRejected(producer="membership", payload={**supplier, "decided_at": NOW}),
        CaseOpened(  # opened before cases had access keys: none to show
            producer="support",
            payload={
                "case_number": "CCE-2026-000025",
                "requester": requester(email),
                "system": "SECOP_I",
                "request_type": "Duda",
                "subject": "Gestión de registro y configuración de cuenta",
                "user_type": "comprador",
                "description": "¿Cómo activo la cuenta?",
                "opened_at": NOW,
                "first_response_due": NOW + timedelta(days=2),
            },
        ),
    ]
