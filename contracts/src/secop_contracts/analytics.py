"""The pseudonymised copy of every event that analytics teams read (``analytics.<Event>``).

Analytics counts sign-ups, activations and cases; it needs nobody's email, name, phone or ID
number (Colombia's Ley 1581 of 2012 asks for data minimisation). So in the copy every field
the contracts mark as personal data (``x-personal-data``) is replaced by a keyed hash, HMAC-SHA256
under a key only the projector holds: equal values give equal hashes, so joins and distinct
counts still work, and nothing can be reversed (or guessed by hashing candidates) without the
key. Sealed secrets (``x-sealed-for``) are dropped. Everything else is copied as it is.

The copies' JSON Schemas are committed beside the contracts' (``schemas/analytics/``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from pydantic import BaseModel

from secop_contracts.envelope import PERSONAL_DATA, SEALED_FOR, Event

PREFIX = "analytics."
PSEUDONYMISED = "x-pseudonymised"
HASH_DESCRIPTION = (
    "Keyed hash (HMAC-SHA256, lowercase hex) of a personal value: equal values give equal "
    "hashes; irreversible without the projector's key."
)


def analytics_topic(event_type: type[Event] | str, prefix: str = "") -> str:
    """``<prefix>analytics.<Event>``: the copy of ``<prefix><Event>``."""
    name = event_type if isinstance(event_type, str) else event_type.TOPIC
    return f"{prefix}{PREFIX}{name}"


def keyed_hash(value: Any, key: bytes) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _markers(model: type[BaseModel], name: str) -> dict[str, Any]:
    extra = model.model_fields[name].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _copy(model: BaseModel, dumped: dict[str, Any], key: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name not in dumped:
            continue
        markers, value, raw = _markers(type(model), name), dumped[name], getattr(model, name)
        if SEALED_FOR in markers:
            continue
        if markers.get(PERSONAL_DATA):
            out[name] = value if value in (None, "") else keyed_hash(value, key)
        elif isinstance(raw, BaseModel):
            out[name] = _copy(raw, value, key)
        elif isinstance(raw, list | tuple):
            out[name] = [
                _copy(item, item_dumped, key) if isinstance(item, BaseModel) else item_dumped
                for item, item_dumped in zip(raw, value, strict=True)
            ]
        else:
            out[name] = value
    return out


def copy_key(event: Event, key: bytes) -> bytes:
    """The copy's message key: the aggregate id, keyed-hashed if that field is personal data
    (none is today: ids and case numbers), so the key can never leak what the value hides."""
    payload = event.payload  # type: ignore[attr-defined]
    if _markers(type(payload), event.KEY_FIELD).get(PERSONAL_DATA):
        return keyed_hash(event.key, key).encode()
    return event.key.encode()


def pseudonymise(event: Event, key: bytes) -> dict[str, Any]:
    """The event as analytics may see it (JSON-ready)."""
    if len(key) < 32:
        raise ValueError("the pseudonymisation key must hold at least 32 bytes")
    return _copy(event, event.model_dump(mode="json"), key)


def _schema_copy(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema_copy(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get(PERSONAL_DATA):
        nullable = any(v.get("type") == "null" for v in node.get("anyOf", []))
        hashed: dict[str, Any] = {"type": "string", "description": HASH_DESCRIPTION}
        hashed = {"anyOf": [hashed, {"type": "null"}]} if nullable else hashed
        return {**hashed, "title": node.get("title", ""), PSEUDONYMISED: True}
    copied = {k: _schema_copy(v) for k, v in node.items()}
    properties = copied.get("properties")
    if isinstance(properties, dict):
        sealed = [k for k, v in node["properties"].items() if SEALED_FOR in v]
        for name in sealed:
            del properties[name]
        if "required" in copied:
            copied["required"] = [r for r in copied["required"] if r not in sealed]
    return copied


def analytics_schema(event_type: type[Event]) -> dict[str, Any]:
    """The JSON Schema of ``analytics.<Event>`` messages."""
    schema = _schema_copy(event_type.model_json_schema(mode="serialization"))
    schema["title"] = f"{PREFIX}{event_type.TOPIC}"
    schema["description"] = (
        f"Pseudonymised copy of {event_type.TOPIC}: personal fields keyed-hashed, sealed "
        "secrets dropped."
    )
    return schema
