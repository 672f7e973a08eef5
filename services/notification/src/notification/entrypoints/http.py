"""HTTP routes of the notification service: delivery look-up and retry for operators.

Both require ``Authorization: Bearer <OPERATOR_TOKEN>``. Responses show who, what template,
which state and why; never a message body or a token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from notification.domain.delivery import Delivery, State
from notification.entrypoints.deps import Ctx, require_operator
from notification.service_layer import operators

UNAUTHORIZED = {401: {"description": "missing or wrong operator credential"}}

router = APIRouter(
    prefix="/deliveries",
    tags=["deliveries"],
    dependencies=[Depends(require_operator)],
    responses=UNAUTHORIZED,
)


class AttemptView(BaseModel):
    attempt: int
    at: datetime
    result: str
    error: str | None = None


class DeliveryView(BaseModel):
    id: str
    recipient: str
    template: str
    state: State
    attempts: int
    attempt_limit: int
    last_error: str | None
    permanent: bool
    source_event_type: str
    source_event_id: str
    queued_at: datetime
    updated_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When the sender looks at it again.")
    sent_at: datetime | None
    history: list[AttemptView]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryView:
        active = d.state in ("queued", "retrying", "sending")
        return cls(
            id=d.id,
            recipient=d.recipient,
            template=d.template,
            state=d.state,
            attempts=d.attempts,
            attempt_limit=d.attempt_limit,
            last_error=d.last_error,
            permanent=d.permanent,
            source_event_type=d.source_event_type,
            source_event_id=d.source_event_id,
            queued_at=d.queued_at,
            updated_at=d.updated_at,
            next_attempt_at=d.next_attempt_at if active else None,
            sent_at=d.sent_at,
            history=[AttemptView(**_attempt(h)) for h in d.history],
        )


def _attempt(h: dict[str, Any]) -> dict[str, Any]:
    return {k: h.get(k) for k in ("attempt", "at", "result", "error")}


class DeliveryList(BaseModel):
    count: int
    deliveries: list[DeliveryView]


DeliveryId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A delivery's id.")]


@router.get("", summary="Find deliveries (newest first)")
async def list_deliveries(
    ctx: Ctx,
    recipient: Annotated[str | None, Query(max_length=320, description="Exact address")] = None,
    status: Annotated[State | None, Query(description="Delivery state")] = None,
    since: Annotated[datetime | None, Query(description="Queued at or after (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    """Deliveries by recipient, state and time: answers "I never got the email"."""
    found = await operators.find_deliveries(
        ctx.store, recipient=recipient, state=status, since=since, limit=limit
    )
    return DeliveryList(count=len(found), deliveries=[DeliveryView.of(d) for d in found])


@router.get("/{delivery_id}", summary="One delivery", responses={404: {"description": "unknown"}})
async def get_delivery(ctx: Ctx, delivery_id: DeliveryId) -> DeliveryView:
    return DeliveryView.of(await operators.get_delivery(ctx.store, delivery_id))


@router.post(
    "/{delivery_id}/retry",
    summary="Send an abandoned or retrying delivery again",
    responses={
        404: {"description": "unknown delivery"},
        409: {"description": "the delivery is not abandoned or retrying, or is being sent"},
    },
)
async def retry(ctx: Ctx, delivery_id: DeliveryId) -> DeliveryView:
    """Back to ``queued`` now, with a fresh budget of attempts."""
    d = await operators.retry_delivery(ctx.store, delivery_id, ctx.settings.delivery_max_attempts)
    ctx.sender.wake([d])
    return DeliveryView.of(d)
