"""An entity submitted for activation becomes a queue item, without a phone call.

If the administrator already opened an activation case for the same account (or NIT) and it is
still open, the submission links to it (only a case opened from the submitter's or an account
administrator's email: a stranger who typed the NIT must not receive the desk's decision) and
``EntitySubmissionLinked`` tells membership the case is now the account's own; otherwise a case
is opened on the submitter's behalf.
Redelivery opens nothing new: a linked event id is remembered on the case, and an opened case's
``source_key`` (unique) is the event id.
"""

from __future__ import annotations

from secop_contracts import Event
from secop_contracts.membership import EntitySubmitted, EntitySubmittedPayload
from secop_contracts.support import (
    EntitySubmissionLinked,
    EntitySubmissionLinkedPayload,
    Requester,
)

from support.domain import decisions
from support.domain.cases import Case
from support.service_layer.context import CASE_NOT_FOUND, Context
from support.service_layer.opening import NewCase, open_case


async def on_entity_submitted(ctx: Context, event: EntitySubmitted) -> str:
    """The number of the activation case now holding this submission."""
    p = event.payload
    event_id = str(event.event_id)
    if (done := await ctx.cases.find_by_source_event(event_id)) is not None:
        return done.number
    subject = ctx.settings.activation_subject
    account_id = str(p.account_id)
    documents = [d.model_dump(mode="json") for d in p.documents]
    admins = {p.submitted_by.email.lower(), *(a.email.lower() for a in p.administrators)}
    existing = await ctx.cases.find_open_for_account(subject, account_id, p.nit, admins)
    if existing is not None:

        def link(case: Case) -> list[Event]:
            now = ctx.now()
            due = ctx.due(subject, now)
            entry = decisions.link_submission(
                case, event_id, account_id, p.nit, documents, now, due
            )
            if entry is None:  # linked already (a redelivery)
                return []
            payload = EntitySubmissionLinkedPayload(
                case_number=case.number,
                account_id=p.account_id,
                request_type=case.request_type,
                opened_at=case.opened_at,
                linked_at=entry.at,
            )
            return [ctx.event(EntitySubmissionLinked, payload)]

        await ctx.cases.change(existing.number, link, missing=CASE_NOT_FOUND)
        return existing.number
    case = await open_case(
        ctx,
        NewCase(
            requester=_requester(p),
            system="SECOP_II",
            request_type="solicitud",
            subject=subject,
            user_type="comprador",
            description=_description(p),
            source_key=f"event:{event_id}",
            account_id=account_id,
            nit=p.nit,
            origin="entity_submitted",
            documents=documents,
            source_event_ids=[event_id],
            activation_linked=True,
        ),
    )
    return case.number


def _requester(p: EntitySubmittedPayload) -> Requester:
    return Requester(
        full_name=p.submitted_by.full_name,
        entity_name=p.legal_name,
        department=p.department,
        municipality=p.municipality,
        email=p.submitted_by.email,
        time_zone=p.submitted_by.time_zone,
    )


def _description(p: EntitySubmittedPayload) -> str:
    lines = [
        "Solicitud de activación de Entidad Estatal registrada en SECOP II.",
        f"Entidad: {p.legal_name} (NIT {p.nit}).",
        f"Tipo de organización: {p.organisation_type or '-'}; área: {p.business_area or '-'}.",
        f"Ubicación: {p.municipality or '-'}, {p.department or '-'}.",
        "Reenvío tras correcciones." if p.resubmission else "Primer envío.",
        f"Documentos ({len(p.documents)}):",
        *[f"- {d.doc_type}: {d.filename} ({d.size} bytes)" for d in p.documents],
    ]
    return "\n".join(lines)
