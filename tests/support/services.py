"""The services' own apps run in-process against the real infrastructure.

Each test gets its own topic prefix and databases, so tests never see each other's data.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from secop_devinfra.infra import Endpoints
from secop_devinfra.keys import DevKeys
from secop_runtime.service import ServiceRuntime

from tests.support.kafka import grant, principal_settings

TEST_OPERATOR_TOKEN = "test-operator-token-0123456789abcdef"


@dataclass
class RunningService:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    settings: Any

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime

    @property
    def db(self) -> Any:
        return self.runtime.db


def settings_for(name: str, infra: Endpoints, keys: DevKeys, prefix: str, **overrides: Any) -> Any:
    config = importlib.import_module(f"{name}.config")
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "mongodb_uri": infra.mongodb_uri,
        "mongodb_database": f"{prefix}{name}".replace(".", "_").replace("-", "_"),
        "kafka_topic_prefix": f"{prefix}.",
        "kafka_topic_partitions": 1,
        "jwt_public_keys": keys.jwks,
        "outbox_poll_interval_s": 0.2,
        "consumer_retry_backoff_s": 0.05,
        "log_format": "text",
    }
    fields = config.Settings.model_fields
    extra = {
        "jwt_private_key": keys.jwt_private_pem,
        "notification_seal_public_key": keys.seal_public,
        "seal_private_key": keys.seal_private,
        "smtp_host": infra.smtp_host,
        "smtp_port": infra.smtp_port,
        "operator_token": TEST_OPERATOR_TOKEN,
    }
    values |= {k: v for k, v in extra.items() if k in fields}
    # The service's own Kafka principal, with its grants on this test's topics.
    values |= principal_settings(infra, name)
    grant(infra, f"{prefix}.", name)
    values |= overrides
    return config.Settings(**values)


@contextlib.asynccontextmanager
async def run_service(name: str, settings: Any) -> AsyncIterator[RunningService]:
    app_module = importlib.import_module(f"{name}.app")
    app: FastAPI = app_module.create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{name}.test", timeout=30
        ) as client:
            yield RunningService(name, app, client, settings)
