"""Event subscribers of the support service."""

from __future__ import annotations

import logging

from secop_contracts.membership import EntitySubmitted
from secop_runtime.auth import track_revocations
from secop_runtime.service import Late, ServiceRuntime

from support.service_layer.activation import on_entity_submitted
from support.service_layer.context import Context

log = logging.getLogger(__name__)


def register(runtime: ServiceRuntime, context: Late[Context]) -> None:
    """Subscribe the service's handlers (each names its group and ack policy via the runtime)."""

    async def entity_submitted(event: EntitySubmitted) -> None:
        number = await on_entity_submitted(context(), event)
        log.info("entity submission queued", extra={"case_number": number})

    runtime.subscribe(
        [EntitySubmitted],
        entity_submitted,
        "Open (or link) the activation case of a submitted buyer entity, with its documents.",
    )
    track_revocations(runtime)
