"""What the running service holds once the database is connected: built by the runtime at
start (``runtime.provide``), closed by it at shutdown, after consumers and the relay stop and
before the database closes, so sends in flight finish and store their outcome."""

from __future__ import annotations

from dataclasses import dataclass

from secop_runtime.service import ServiceRuntime

from notification.adapters.smtp import SmtpPool
from notification.adapters.store import Deliveries, DeliveryStore
from notification.config import Settings
from notification.service_layer.rendering import Renderer
from notification.service_layer.sender import Sender
from notification.service_layer.sending import Outbound


@dataclass
class Context:
    store: Deliveries
    sender: Sender
    settings: Settings

    @classmethod
    async def build(cls, runtime: ServiceRuntime, settings: Settings) -> Context:
        store = DeliveryStore(runtime.db)
        await store.create_indexes()
        out = Outbound(store, pool_for(settings), renderer_for(settings), settings, runtime.event)
        sender = Sender(out)
        sender.start()
        return cls(store, sender, settings)

    async def close(self) -> None:
        await self.sender.stop()


def renderer_for(settings: Settings) -> Renderer:
    return Renderer(
        public_base_url=settings.public_base_url,
        seal_private_key=settings.seal_private_key.get_secret_value(),
        previous_seal_keys=[k.get_secret_value() for k in settings.seal_previous_private_keys],
        footer={
            "desk_hours": settings.desk_hours,
            "desk_phones": settings.desk_phones,
            "desk_contact": settings.desk_contact,
        },
    )


def pool_for(settings: Settings) -> SmtpPool:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpPool(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=password,
        timeout=settings.smtp_timeout_s,
        validate_certs=settings.smtp_validate_certs,
        size=settings.max_concurrent_sends,
        idle_check_s=settings.smtp_idle_check_s,
    )
