"""Event subscribers of the registration service."""

from __future__ import annotations

from secop_contracts.support import CredentialsResendRequested
from secop_runtime.service import Late, ServiceRuntime

from registration.service_layer.context import Context
from registration.service_layer.recovery import resend_credentials


def register(runtime: ServiceRuntime, context: Late[Context]) -> None:
    """Subscribe the service's handlers (group = service name, AckPolicy.ACK, via the runtime)."""

    async def on_credentials_resend_requested(event: CredentialsResendRequested) -> None:
        await resend_credentials(context(), event)

    runtime.subscribe(
        [CredentialsResendRequested],
        on_credentials_resend_requested,
        "A desk agent asked to email a user's username to their registered address.",
    )
