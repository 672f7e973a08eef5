"""The Kafka traffic as AsyncAPI 3.0.0 documents, one per service, generated from the contracts.

A document says what one service sends and receives: a channel per topic (its address is the
topic's name), each message with its JSON Schema (the ones ``compat`` and ``analytics`` commit),
the record's headers and key, the consumer group, and the dead-letter topics. The projector's
document is the analytics contract: analysts read its ``analytics.<Event>`` messages, which hold
keyed hashes where the originals hold personal data.

Nothing is written per event by hand: owners come from ``registry``, readers from
``access.SUBSCRIPTIONS``, schemas from the models. Only the header names mirror the runtime
(``secop_runtime.service`` publishes, ``consumer`` dead-letters, the projector copies), since this
package must not import it. The documents are committed in ``contracts/asyncapi/``
(``python -m secop_contracts write``; ``check`` reports drift) and each service serves its own
at ``GET /asyncapi``.
"""

from __future__ import annotations

import inspect
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from secop_contracts.access import (
    ANALYTICS,
    DEAD_LETTER_SUFFIX,
    PROJECTOR,
    SERVICES,
    SUBSCRIPTIONS,
    consumed_topics,
    consumer_group,
    owned_topics,
)
from secop_contracts.analytics import HASH_DESCRIPTION, PSEUDONYMISED, analytics_schema
from secop_contracts.analytics import PREFIX as COPY_PREFIX
from secop_contracts.compat import generate
from secop_contracts.envelope import PERSONAL_DATA, SEALED_FOR, Event
from secop_contracts.registry import EVENTS_BY_TYPE, owner_of

Schema = dict[str, Any]
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING = "0.5.0"
JSON_TYPE = "application/json"
#: The services with a document: every one with Kafka traffic (the portal has none).
DOCUMENTED: tuple[str, ...] = (*SERVICES, PROJECTOR)

_TRACE_HEADERS: Schema = {
    "traceparent": {
        "type": "string",
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "Optional. W3C Trace Context (https://www.w3.org/TR/trace-context/): "
        "the trace and span that sent the record, so the reader's work joins the same trace. "
        "Ids only, nothing personal (a caller's tracestate and baggage are never carried on).",
    },
}
_HEADERS: dict[str, Schema] = {
    "EventHeaders": {
        "type": "object",
        "description": "Headers of every event record (UTF-8 strings), set by the owner's "
        "outbox relay.",
        "properties": {
            "content-type": {"type": "string", "const": JSON_TYPE},
            "correlation_id": {
                "type": "string",
                "description": "The event's `correlation_id`, or its `event_id` when it has none.",
            },
            "event_id": {
                "type": "string",
                "format": "uuid",
                "description": "The event's `event_id` (consumers dedupe on it).",
            },
            "event_type": {
                "type": "string",
                "description": "The event's type: its topic's name without a deployment's prefix.",
            },
            **_TRACE_HEADERS,
        },
        "required": ["content-type", "correlation_id", "event_id", "event_type"],
    },
    "DeadLetterHeaders": {
        "type": "object",
        "description": "Headers of a dead letter (UTF-8 strings): where the record came from "
        "and why it was parked.",
        "properties": {
            "correlation_id": {
                "type": "string",
                "description": "An id the publishing client gives the dead letter (not the "
                "event's correlation id, which is in the value).",
            },
            "dlt-consumer-group": {"type": "string", "description": "The group that parked it."},
            "dlt-error": {
                "type": "string",
                "maxLength": 2000,
                "description": "Why: the error's type and message; a validation error by field "
                "and kind only, never the values.",
            },
            "dlt-failed-at": {"type": "string", "format": "date-time"},
            "dlt-original-offset": {"type": "string", "pattern": "^[0-9]+$"},
            "dlt-original-partition": {"type": "string", "pattern": "^[0-9]+$"},
            "dlt-original-topic": {"type": "string"},
            **_TRACE_HEADERS,
        },
        "required": [
            "dlt-consumer-group",
            "dlt-error",
            "dlt-failed-at",
            "dlt-original-offset",
            "dlt-original-partition",
            "dlt-original-topic",
        ],
    },
    "CopyHeaders": {
        "type": "object",
        "description": "Headers of the projector's records (UTF-8 strings).",
        "properties": {
            "copied-at": {
                "type": "string",
                "format": "date-time",
                "description": "When the projector copied the record (UTC).",
            },
            **_TRACE_HEADERS,
        },
        "required": ["copied-at"],
    },
}
_KEY_AS_IT_CAME: Schema = {"type": "string", "description": "The original record's key."}
_AS_IT_CAME: Schema = {
    "description": "The original record's value, byte for byte as it came: normally the event's "
    "JSON, but possibly not (that may be why it was parked)."
}


def _summary(event: type[Event]) -> str:
    return inspect.cleandoc(event.__doc__ or event.TOPIC)


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def marked_paths(
    schema: Schema, marker: str, node: Schema | None = None, at: str = ""
) -> list[str]:
    """The dotted paths (``payload.email``; ``[]`` for list items) of the fields carrying
    ``marker`` in an event's JSON Schema."""
    node = _resolve(schema if node is None else node, schema)
    if node.get(marker):
        return [at]
    found = [p for sub in node.get("anyOf", []) for p in marked_paths(schema, marker, sub, at)]
    if "items" in node:
        found += marked_paths(schema, marker, node["items"], f"{at}[]")
    for name, sub in node.get("properties", {}).items():
        found += marked_paths(schema, marker, sub, f"{at}.{name}" if at else name)
    return sorted(set(found))


def _listed(paths: list[str]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


def _point_refs(node: Any, prefix: str) -> Any:
    """Every ``#/$defs/X`` reference pointed at ``#/components/schemas/<prefix>X``."""
    if isinstance(node, list):
        return [_point_refs(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _point_refs(v, prefix) for k, v in node.items()}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/$defs/"):
        out["$ref"] = "#/components/schemas/" + prefix + out["$ref"].removeprefix("#/$defs/")
    return out


def _components(schema: Schema, prefix: str) -> dict[str, Schema]:
    """An event's schema as ``components.schemas`` entries: itself under its title, its
    ``$defs`` beside it (a ``$ref`` in AsyncAPI resolves against the whole document)."""
    top = {k: v for k, v in schema.items() if k != "$defs"}
    found = {schema["title"]: _point_refs(top, prefix)}
    found |= {prefix + k: _point_refs(v, prefix) for k, v in schema.get("$defs", {}).items()}
    return found


def _key(event: type[Event], schema: Schema, copy: bool) -> Schema:
    field = _resolve(_resolve(schema["properties"]["payload"], schema), schema)
    field = _resolve(field["properties"][event.KEY_FIELD], schema)
    where = f"`payload.{event.KEY_FIELD}`"
    if copy and field.get(PSEUDONYMISED):
        return {"type": "string", "description": f"Keyed hash of the original's key, {where}."}
    key = {
        "type": "string",
        "description": f"The aggregate's id, {where} (UTF-8): one aggregate's events share a "
        "partition and stay in order.",
    }
    return key | ({"format": field["format"]} if "format" in field else {})


def _parked(name: str, title: str, summary: str, headers: str) -> Schema:
    """A dead-letter topic's message: a record kept as it came, under ``headers``."""
    return {
        "name": name,
        "title": title,
        "summary": summary,
        "headers": {"$ref": f"#/components/schemas/{headers}"},
        "payload": _AS_IT_CAME,
        "bindings": {"kafka": {"key": _KEY_AS_IT_CAME, "bindingVersion": KAFKA_BINDING}},
    }


def _message(name: str, event: type[Event], schema: Schema, description: str) -> Schema:
    copy = name.startswith(COPY_PREFIX)
    return {
        "name": name,
        "title": name,
        "summary": _summary(event).split("\n\n")[0].replace("\n", " "),
        "description": description,
        "contentType": JSON_TYPE,
        "headers": {"$ref": f"#/components/schemas/{'CopyHeaders' if copy else 'EventHeaders'}"},
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {"kafka": {"key": _key(event, schema, copy), "bindingVersion": KAFKA_BINDING}},
    }


def _event_description(event: type[Event], schema: Schema) -> str:
    text = _summary(event)
    personal = marked_paths(schema, PERSONAL_DATA)
    sealed = marked_paths(schema, SEALED_FOR)
    if personal:
        text += f"\n\nPersonal data (`{PERSONAL_DATA}`): {_listed(personal)}."
    if sealed:
        text += f"\n\nSealed for the notification service (`{SEALED_FOR}`): {_listed(sealed)}."
    return text


def _copy_description(event: type[Event], raw: Schema, copy: Schema) -> str:
    hashed, dropped = marked_paths(copy, PSEUDONYMISED), marked_paths(raw, SEALED_FOR)
    text = f"Pseudonymised copy of `{event.TOPIC}`. {_summary(event)}\n\n"
    if hashed:
        text += f"Keyed hashes (`{PSEUDONYMISED}`): {_listed(hashed)}. {HASH_DESCRIPTION}\n\n"
    if dropped:
        text += f"Dropped (sealed secrets, never copied): {_listed(dropped)}.\n\n"
    return text + (
        "Nothing personal is in this message: every field the contract marks as personal data "
        "is a keyed hash, and every other field is copied as it is."
    )


def _readers(topic: str) -> list[str]:
    return sorted([s for s, topics in SUBSCRIPTIONS.items() if topic in topics] + [PROJECTOR])


class _Document:
    """One service's channels, operations, messages and schemas, filled topic by topic."""

    def __init__(self, service: str, prefix: str) -> None:
        self.service, self.prefix = service, prefix
        self.channels: dict[str, Schema] = {}
        self.operations: dict[str, Schema] = {}
        self.messages: dict[str, Schema] = {}
        self.schemas: dict[str, Schema] = {}

    def schema(self, name: str, schema: Schema) -> None:
        if self.schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name!r}: rename one model")

    def channel(self, cid: str, message: str, description: str) -> None:
        self.channels[cid] = {
            "address": self.prefix + cid,
            "description": description,
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        }

    def operation(self, action: str, cid: str, description: str, **bindings: Any) -> None:
        message = next(iter(self.channels[cid]["messages"]))
        self.operations[f"{action}.{cid}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{message}"}],
            "description": description,
        } | (
            {"bindings": {"kafka": {**bindings, "bindingVersion": KAFKA_BINDING}}}
            if bindings
            else {}
        )

    def event(self, topic: str) -> None:
        """The raw event's message, schemas and channel (once, whoever sends or reads it)."""
        if topic in self.channels:
            return
        event, schema = EVENTS_BY_TYPE[topic], generate(EVENTS_BY_TYPE[topic])
        for name, part in _components(schema, "").items():
            self.schema(name, part)
        self.schema("EventHeaders", _HEADERS["EventHeaders"])
        self.messages[topic] = _message(topic, event, schema, _event_description(event, schema))
        readers = _listed(_readers(topic))
        self.channel(
            topic, topic, f"`{topic}`: written by `{owner_of(topic)}` alone; read by {readers}."
        )

    def receive(self, topic: str) -> None:
        group = consumer_group(self.service, self.prefix)
        dead = topic + DEAD_LETTER_SUFFIX
        how = (
            f"At least once, in group `{group}`: offsets committed after handling, an event "
            f"already applied (its `event_id`) skipped, and a record that cannot be applied "
            f"parked on `{dead}`."
        )
        self.event(topic)
        self.operation("receive", topic, how, groupId={"type": "string", "enum": [group]})
        self.schema("DeadLetterHeaders", _HEADERS["DeadLetterHeaders"])
        self.messages["DeadLetter"] = _parked(
            "DeadLetter",
            "Dead letter",
            "A record a consumer could not apply, parked as it came.",
            "DeadLetterHeaders",
        )
        self.channel(
            dead,
            "DeadLetter",
            f"Dead letters of `{topic}`: records its consumers could not apply (not an event "
            "they accept, a producer that does not own the topic, a time in the future, or a "
            "handler that kept failing), with the original key. Every consumer of the topic "
            "writes here; `dlt-consumer-group` says which.",
        )
        self.operation("send", dead, f"Group `{group}` parks what it cannot apply of `{topic}`.")

    def copy(self, topic: str) -> None:
        """The projector's side of one topic: the raw event read, its copy and dead letters."""
        event, raw = EVENTS_BY_TYPE[topic], generate(EVENTS_BY_TYPE[topic])
        copy = analytics_schema(event)
        name, dead = COPY_PREFIX + topic, f"{COPY_PREFIX}{topic}{DEAD_LETTER_SUFFIX}"
        group = consumer_group(PROJECTOR, self.prefix)
        for part_name, part in _components(copy, COPY_PREFIX).items():
            self.schema(part_name, part)
        self.schema("CopyHeaders", _HEADERS["CopyHeaders"])
        self.messages[name] = _message(name, event, copy, _copy_description(event, raw, copy))
        self.event(topic)
        self.operation(
            "receive",
            topic,
            f"Group `{group}`, `isolation.level=read_committed`: each batch is copied and its "
            "offsets committed in one Kafka transaction, so each event is copied once.",
            groupId={"type": "string", "enum": [group]},
        )
        self.channel(
            name,
            name,
            f"The pseudonymised copy of `{topic}`, for analytics: the `{ANALYTICS}` principal "
            f"reads it (consumer groups named `{ANALYTICS}*`, `isolation.level=read_committed`). "
            "Nothing personal is in it.",
        )
        self.operation("send", name, "Written in Kafka transactions with the read offsets.")
        self.messages["analytics.DeadLetter"] = _parked(
            "analytics.DeadLetter",
            "Record the projector could not copy",
            "A raw record that is not a trustworthy event, parked as it came.",
            "CopyHeaders",
        )
        self.channel(
            dead,
            "analytics.DeadLetter",
            f"Records of `{topic}` the projector could not copy (bad JSON or schema, a producer "
            "that does not own the topic, a time in the future), as they came. They may hold "
            f"personal data: only the projector may write or read this topic, never `{ANALYTICS}`.",
        )
        self.operation("send", dead, "Parked in the same transaction as the batch's copies.")

    def build(self) -> Schema:
        if self.service == PROJECTOR:
            for topic in consumed_topics(PROJECTOR):
                self.copy(topic)
        else:
            for topic in owned_topics(self.service):
                self.event(topic)
                self.operation(
                    "send",
                    topic,
                    "Published from the outbox once the change that caused it is stored "
                    "(idempotent producer, `acks=all`): at least once, so readers dedupe on "
                    "`event_id`.",
                )
            for topic in consumed_topics(self.service):
                self.receive(topic)
        return {
            "asyncapi": ASYNCAPI_VERSION,
            "info": _info(self.service),
            "defaultContentType": JSON_TYPE,
            "servers": _servers(),
            "channels": self.channels,
            "operations": self.operations,
            "components": {
                "messages": self.messages,
                "schemas": self.schemas,
                "securitySchemes": {
                    "scramSha512": {
                        "type": "scramSha512",
                        "description": "SASL/SCRAM-SHA-512 over TLS, one principal per service "
                        f"(its name); analytics teams connect as `{ANALYTICS}`.",
                    }
                },
            },
        }


_COMMON = (
    "Generated from the `secop-contracts` package (the version above is its version) by "
    "`python -m secop_contracts write`; do not edit by hand.\n\n"
    "A record's value is the event as JSON: the common envelope (`event_id`, `event_type`, "
    "`schema_version`, `occurred_at`, `producer`, `correlation_id`, `causation_id`) and its "
    "`payload`. Its key is the aggregate's id, so one aggregate's events stay in order. Within "
    "a `schema_version` changes are additive only. Topic names are the event types; a "
    "deployment may put a prefix before every topic and group (`KAFKA_TOPIC_PREFIX`, for "
    "isolated test clusters)."
)


def _info(service: str) -> Schema:
    if service == PROJECTOR:
        title = "SECOP accounts: analytics events (projector)"
        about = (
            "The analytics contract. The projector reads every event topic and writes its "
            "pseudonymised copy, `analytics.<Event>`: the only topics the `analytics` principal "
            "may read. In a copy every field the contracts mark as personal data is replaced by "
            "a keyed hash (HMAC-SHA256 under a key only the projector holds, lowercase hex; "
            f"marked `{PSEUDONYMISED}`): equal values hash equal, so joins and distinct counts "
            "work, and nothing can be reversed or guessed without the key. Sealed secrets are "
            "dropped. Nothing personal is in the copies; each message says which of its fields "
            "are keyed hashes. The raw topics it reads are listed too: analytics cannot read "
            "them."
        )
    else:
        title = f"SECOP accounts: {service} events"
        about = (
            f"The Kafka traffic of the `{service}` service: the events it owns (it alone may "
            "write them) and those it consumes, with the dead-letter topics its consumer "
            f"writes. Fields holding personal data are marked `{PERSONAL_DATA}`; secrets "
            f"travel only sealed for the notification service (`{SEALED_FOR}`)."
        )
    return {
        "title": title,
        "version": metadata.version("secop-contracts"),
        "description": f"{about}\n\n{_COMMON}",
    }


def _servers() -> Schema:
    return {
        "production": {
            "host": "{bootstrap}",
            "protocol": "kafka-secure",
            "description": "The cluster's Kafka brokers, TLS only (verify the broker against the "
            "deployment's CA). Every client authenticates with SASL/SCRAM-SHA-512 as its own "
            "principal, and ACLs let it write only the topics it owns and read only those it "
            "consumes (`python -m secop_contracts trust`).",
            "variables": {
                "bootstrap": {
                    "default": "kafka:19092",
                    "description": "A bootstrap broker, host:port (the deployment's "
                    "KAFKA_BOOTSTRAP_SERVERS).",
                }
            },
            "security": [{"$ref": "#/components/securitySchemes/scramSha512"}],
        }
    }


def document(service: str, prefix: str = "") -> Schema:
    """The AsyncAPI document of ``service`` (one of ``DOCUMENTED``); ``prefix``: the topic and
    group prefix of a deployment, if any."""
    if service not in DOCUMENTED:
        raise ValueError(f"{service!r} has no Kafka traffic to document")
    return _Document(service, prefix).build()


def to_json(doc: Schema) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_yaml(doc: Schema) -> str:
    import yaml  # PyYAML: a development dependency; services serve YAML only where it is

    # libyaml's dumper when present: the same bytes as the pure-Python one, five times faster.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, sort_keys=True, allow_unicode=True, width=100)


def yaml_available() -> bool:
    try:
        import yaml  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=16)  # a test session starts services under many topic prefixes
def rendered(service: str, prefix: str = "") -> tuple[str, str | None]:
    """The document as JSON, and as YAML where PyYAML is installed (built once per process)."""
    doc = document(service, prefix)
    return to_json(doc), (to_yaml(doc) if yaml_available() else None)


# -- the committed files ---------------------------------------------------------------------


def committed_dir() -> Path:
    """``contracts/asyncapi/`` of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "asyncapi"


def _in_checkout() -> bool:
    return (committed_dir().parent / "pyproject.toml").exists()


def committed_files() -> dict[str, str]:
    """File name -> the text it must hold: ``<service>.yaml`` for every documented service."""
    return {f"{s}.yaml": to_yaml(document(s)) for s in DOCUMENTED}


def check_files() -> dict[str, list[str]]:
    """Drift: a committed document that differs from the one the code makes (empty when none;
    nothing to check in an installed package, which carries no committed documents)."""
    if not _in_checkout():
        return {}
    if not yaml_available():
        return {"asyncapi": ["PyYAML is needed to check the AsyncAPI files (a dev dependency)"]}
    report: dict[str, list[str]] = {}
    for name, text in committed_files().items():
        path = committed_dir() / name
        if not path.exists() or path.read_text() != text:
            report[f"asyncapi/{name}"] = [
                "missing or out of date: run `python -m secop_contracts write`"
            ]
    return report


def write_files() -> None:
    """Write every committed document (nothing to write in an installed package)."""
    if not _in_checkout():
        return
    if not yaml_available():
        raise RuntimeError("PyYAML is needed to write the AsyncAPI files (a dev dependency)")
    committed_dir().mkdir(exist_ok=True)
    for name, text in committed_files().items():
        (committed_dir() / name).write_text(text)
