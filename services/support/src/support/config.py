"""The support service's settings: the only reader of the environment."""

from __future__ import annotations

from pydantic import Field, model_validator
from secop_runtime.settings import ServiceSettings

from support.domain.decisions import Subjects

ACTIVATION_SUBJECT = "Gestión de registro y configuración de Entidades Estatales"
MIXED_PROFILE_SUBJECT = "Habilitación de perfil mixto"
CREDENTIALS_SUBJECT = "Recuperación de usuario"

#: subject -> first-response SLA in desk hours (Mon-Fri 07-19, Sat 08-12, Bogotá).
DEFAULT_SUBJECTS: dict[str, float] = {
    CREDENTIALS_SUBJECT: 4,
    "Recuperación de contraseña": 4,
    ACTIVATION_SUBJECT: 8,
    MIXED_PROFILE_SUBJECT: 8,
    "Registro de proveedores": 8,
    "Solicitud de acceso a una cuenta": 8,
    "Procesos de contratación": 12,
    "Otros": 16,
}


class Settings(ServiceSettings):
    service_name: str = "support"
    http_port: int = 8003
    public_base_url: str = "http://127.0.0.1:8003"

    case_subjects: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SUBJECTS),
        description="JSON object: the subject catalogue, each with its SLA in desk hours.",
    )
    default_sla_hours: float = Field(default=8, ge=0)
    activation_subject: str = ACTIVATION_SUBJECT
    mixed_profile_subject: str = MIXED_PROFILE_SUBJECT
    credentials_subject: str = CREDENTIALS_SUBJECT

    rate_limit_ip_max: int = Field(
        default=20, ge=1, description="Cases one IP may open per window."
    )
    rate_limit_ip_window_s: int = Field(default=3600, ge=1)
    rate_limit_email_max: int = Field(
        default=5, ge=1, description="Cases one email address may open per window."
    )
    rate_limit_email_window_s: int = Field(default=3600, ge=1)
    notification_seal_public_key: str = Field(
        default="",
        description="Notification's sealing public key (base64): each case's access key "
        "travels sealed to the opening email.",
    )
    follow_limit_per_minute: int = Field(
        default=20,
        ge=1,
        description="Requester reads and messages, per client address per minute, and per "
        "case per minute (beyond: 429).",
    )
    case_number_attempts: int = Field(default=500, ge=1)
    queue_page_max: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _special_subjects_in_catalogue(self) -> Settings:
        for name in (self.activation_subject, self.mixed_profile_subject, self.credentials_subject):
            if name not in self.case_subjects:
                raise ValueError(f"subject {name!r} must be in CASE_SUBJECTS")
        if any(hours < 0 for hours in self.case_subjects.values()):
            raise ValueError("CASE_SUBJECTS: SLA hours must not be negative")
        return self

    @property
    def subjects(self) -> Subjects:
        return Subjects(
            self.activation_subject, self.mixed_profile_subject, self.credentials_subject
        )
