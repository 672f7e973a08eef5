"""``python -m <service>``: one process, configured by the environment, stopped gracefully."""

from __future__ import annotations

import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from secop_runtime import tracing
from secop_runtime.logs import configure_logging
from secop_runtime.settings import ServiceSettings

Command = Callable[[list[str]], int]


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run until SIGINT/SIGTERM; uvicorn then drains requests and runs the lifespan shutdown."""
    configure_logging(
        settings.service_name, settings.instance_id, settings.log_level, settings.log_format
    )
    tracing.configure(settings.service_name, settings.instance_id)
    try:
        _run(app, settings)
    finally:
        tracing.shutdown()


def _run(app: FastAPI, settings: ServiceSettings) -> None:
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        # The client's address comes from TRUSTED_PROXIES alone (secop_runtime.clients):
        # uvicorn must not rewrite it from forwarded headers by its own rule.
        proxy_headers=False,
        timeout_graceful_shutdown=int(settings.kafka_graceful_timeout_s),
    )


def main(
    name: str,
    settings_cls: type[ServiceSettings],
    create_app: Callable[..., FastAPI],
    commands: dict[str, Command] | None = None,
    argv: list[str] | None = None,
) -> int:
    """``serve`` (the default) or one of the service's operator commands."""
    args = sys.argv[1:] if argv is None else argv
    commands = commands or {}
    if not args or args[0] == "serve":
        settings = settings_cls()
        serve(create_app(settings), settings)
        return 0
    if args[0] in commands:
        return commands[args[0]](args[1:])
    usage = " | ".join(["serve", *commands])
    print(f"unknown command {args[0]!r}; usage: python -m {name} [{usage}]", file=sys.stderr)
    return 2
