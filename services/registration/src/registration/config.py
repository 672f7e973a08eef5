"""The registration service's settings: the only reader of the environment."""

from __future__ import annotations

from secop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "registration"
    http_port: int = 8001
    public_base_url: str = "http://127.0.0.1:8001"
