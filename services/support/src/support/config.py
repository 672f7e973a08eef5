"""The support service's settings: the only reader of the environment."""

from __future__ import annotations

from secop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "support"
    http_port: int = 8003
    public_base_url: str = "http://127.0.0.1:8003"
