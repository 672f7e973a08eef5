"""What the running service holds once the database is connected (built in the start-up hook)."""

from __future__ import annotations

from dataclasses import dataclass

from secop_runtime.service import ServiceRuntime

from notification.adapters.smtp import SmtpPool
from notification.adapters.store import DeliveryStore, SendClaims
from notification.config import Settings
from notification.service_layer.rendering import Renderer
from notification.service_layer.sender import Sender


@dataclass
class Components:
    store: DeliveryStore
    claims: SendClaims
    sender: Sender


def renderer_for(settings: Settings) -> Renderer:
    return Renderer(
        public_base_url=settings.public_base_url,
        seal_private_key=settings.seal_private_key.get_secret_value(),
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


async def build(runtime: ServiceRuntime, settings: Settings) -> Components:
    store = DeliveryStore(runtime.db)
    claims = SendClaims(runtime.db, owner=settings.instance_id)
    await store.ensure_indexes()
    await claims.ensure_indexes()
    sender = Sender(
        store=store,
        claims=claims,
        pool=pool_for(settings),
        renderer=renderer_for(settings),
        settings=settings,
        make_event=runtime.event,
    )
    return Components(store, claims, sender)
