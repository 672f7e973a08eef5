"""The desk's decisions (activation, mixed profile) and credential resends, as events.

Membership applies ``AccountActivationDecided`` / ``MixedProfileDecided``; both carry the
requester so notification can tell them. ``CredentialsResendRequested`` asks registration to
email the matching user's data to their registered address: the agent never sees it.
"""

from __future__ import annotations

from uuid import UUID

from secop_contracts import Event
from secop_contracts.support import (
    AccountActivationDecided,
    AccountActivationDecidedPayload,
    CredentialsResendRequested,
    CredentialsResendRequestedPayload,
    MixedProfileDecided,
    MixedProfileDecidedPayload,
)

from support.domain import decisions
from support.domain.cases import Actor, Case
from support.service_layer.context import CASE_NOT_FOUND, Context


async def decide(ctx: Context, number: str, decision: str, message: str, actor: Actor) -> Case:
    subjects = ctx.settings.subjects

    def rule(case: Case) -> list[Event]:
        kind = decisions.decision_kind(case, subjects)
        entry = decisions.decide(case, kind, decision, message, actor, ctx.now())
        common = {
            "case_number": number,
            "account_id": UUID(str(case.account_id)),
            "decision": decision,
            "message": message,
            "agent_id": UUID(str(actor.id)),
            "requester": case.requester,
            "decided_at": entry.at,
        }
        if kind == "activation":
            payload = AccountActivationDecidedPayload(**common)
            return [ctx.event(AccountActivationDecided, payload)]
        return [ctx.event(MixedProfileDecided, MixedProfileDecidedPayload(**common))]

    return await ctx.cases.change(number, rule, missing=CASE_NOT_FOUND)


async def request_credentials(ctx: Context, number: str, actor: Actor) -> Case:
    subjects = ctx.settings.subjects

    def rule(case: Case) -> list[Event]:
        entry = decisions.request_credentials(case, subjects, actor, ctx.now())
        payload = CredentialsResendRequestedPayload(
            case_number=number,
            document_number=case.requester.document_number,
            email=case.requester.email,
            agent_id=UUID(str(actor.id)),
            requested_at=entry.at,
        )
        return [ctx.event(CredentialsResendRequested, payload)]

    return await ctx.cases.change(number, rule, missing=CASE_NOT_FOUND)
