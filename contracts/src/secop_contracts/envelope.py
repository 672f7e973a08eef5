"""The envelope every event shares, and the markers analytics relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

PERSONAL_DATA = "x-personal-data"
SEALED_FOR = "x-sealed-for"


def personal_data(**kwargs: Any) -> Any:
    """A field holding personal data: marked so in the JSON Schema (``x-personal-data``)."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[PERSONAL_DATA] = True
    return Field(json_schema_extra=extra, **kwargs)


def sealed(**kwargs: Any) -> Any:
    """A secret sealed for the notification service (libsodium sealed box, base64).

    Readers of the topic cannot open it; only the holder of notification's private key can.
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[SEALED_FOR] = "notification"
    return Field(json_schema_extra=extra, **kwargs)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    """Base of every payload: frozen, and tolerant of fields added later (additive evolution)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Payload):
    """Common envelope. Subclasses fix ``event_type`` and ``schema_version`` and add ``payload``.

    ``correlation_id`` follows one person's flow across services; ``causation_id`` is the
    ``event_id`` of the event that caused this one (absent when a person's request did).
    """

    TOPIC: ClassVar[str] = ""
    KEY_FIELD: ClassVar[str] = ""
    #: Payload fields holding an instant that cannot lie in the future (beside ``occurred_at``):
    #: consumers refuse such an event rather than let a forged time win for good.
    NOT_IN_FUTURE: ClassVar[tuple[str, ...]] = ()

    event_id: UUID = Field(default_factory=uuid4, description="Unique id; consumers dedupe on it.")
    event_type: str
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow, description="UTC time of the fact.")
    producer: str = Field(description="The service that recorded the fact.")
    correlation_id: str | None = Field(default=None, max_length=128)
    causation_id: UUID | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Each concrete event pins ``event_type`` to its class name, which is also its topic."""
        super().__pydantic_init_subclass__(**kwargs)
        if "payload" not in cls.model_fields:
            return
        name = cls.__name__
        cls.TOPIC = name
        cls.model_fields["event_type"] = FieldInfo(
            annotation=Literal[name],  # type: ignore[valid-type]
            default=name,
            description="The event's type, equal to its topic name.",
        )
        cls.model_rebuild(force=True)

    @property
    def key(self) -> str:
        """The aggregate id: the Kafka message key, so one aggregate's events stay in order."""
        return str(getattr(self.payload, self.KEY_FIELD))  # type: ignore[attr-defined]

    def instants(self) -> dict[str, datetime]:
        """``occurred_at`` and the ``NOT_IN_FUTURE`` payload fields, by name."""
        found = {"occurred_at": self.occurred_at}
        for name in self.NOT_IN_FUTURE:
            found[f"payload.{name}"] = getattr(self.payload, name)  # type: ignore[attr-defined]
        return found

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
