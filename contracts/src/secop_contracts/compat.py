"""JSON Schema generation and the compatibility rule for committed schemas.

Within one ``schema_version`` a change must be additive: no field may be lost, renamed or
retyped, no optional field may become required, no new field may be required, and no allowed
value may be withdrawn. Messages already on the topics must keep validating, and consumers built
on the committed schema must keep understanding new messages.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from secop_contracts.envelope import Event
from secop_contracts.registry import ALL_EVENTS

Schema = dict[str, Any]


def schema_filename(event: type[Event]) -> str:
    version = event.model_fields["schema_version"].default
    return f"{event.TOPIC}.v{version}.json"


def generate(event: type[Event]) -> Schema:
    return event.model_json_schema(mode="serialization")


def committed_dir() -> Path:
    return Path(str(resources.files("secop_contracts") / "schemas"))


def load_committed(event: type[Event]) -> Schema | None:
    path = committed_dir() / schema_filename(event)
    return json.loads(path.read_text()) if path.exists() else None


def dump(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = root.get("$defs", {})[name]
    return node


def _variants(node: Schema, root: Schema) -> list[Schema]:
    node = _resolve(node, root)
    if "anyOf" in node:
        return [v for sub in node["anyOf"] for v in _variants(sub, root)]
    return [node]


def _kind(node: Schema) -> str:
    if "const" in node:
        return f"const:{node['const']!r}"
    kind = str(node.get("type", "object" if "properties" in node else "any"))
    return f"{kind}:{node['format']}" if "format" in node else kind


def breaking_changes(old: Schema, new: Schema, path: str = "") -> list[str]:
    """Every way ``new`` breaks readers or data built on ``old`` (empty when compatible)."""
    return _compare(old, old, new, new, path or "$")


def _compare(old: Schema, old_root: Schema, new: Schema, new_root: Schema, path: str) -> list[str]:
    problems: list[str] = []
    old_vs, new_vs = _variants(old, old_root), _variants(new, new_root)
    old_kinds = {_kind(v) for v in old_vs}
    new_kinds = {_kind(v) for v in new_vs}
    if old_kinds != new_kinds:
        return [f"{path}: type changed from {sorted(old_kinds)} to {sorted(new_kinds)}"]
    by_kind = {_kind(v): v for v in new_vs}
    for old_v in old_vs:
        new_v = by_kind[_kind(old_v)]
        if "enum" in old_v:
            withdrawn = set(map(repr, old_v["enum"])) - set(map(repr, new_v.get("enum", [])))
            if withdrawn:
                problems.append(f"{path}: allowed values withdrawn: {sorted(withdrawn)}")
        if "items" in old_v:
            problems += _compare(
                old_v["items"], old_root, new_v.get("items", {}), new_root, f"{path}[]"
            )
        old_props, new_props = old_v.get("properties", {}), new_v.get("properties", {})
        old_req, new_req = set(old_v.get("required", [])), set(new_v.get("required", []))
        for name, sub in old_props.items():
            if name not in new_props:
                problems.append(f"{path}.{name}: field lost or renamed")
                continue
            if name in new_req and name not in old_req:
                problems.append(f"{path}.{name}: optional field became required")
            problems += _compare(sub, old_root, new_props[name], new_root, f"{path}.{name}")
        for name in new_req - set(old_props):
            problems.append(f"{path}.{name}: new field is required (give it a default)")
    return problems


def check_all() -> dict[str, list[str]]:
    """Problems per schema file: breaking changes, and files missing or out of date."""
    report: dict[str, list[str]] = {}
    for event in ALL_EVENTS:
        name = schema_filename(event)
        committed, current = load_committed(event), generate(event)
        if committed is None:
            report[name] = ["no committed schema: run `python -m secop_contracts write`"]
            continue
        problems = breaking_changes(committed, current)
        if not problems and dump(committed) != dump(current):
            problems = ["committed schema is out of date: run `python -m secop_contracts write`"]
        if problems:
            report[name] = problems
    return report | check_analytics() | _check_asyncapi()


def analytics_dir() -> Path:
    return committed_dir() / "analytics"


def _analytics_files() -> dict[str, str]:
    from secop_contracts.analytics import analytics_schema

    return {schema_filename(e): dump(analytics_schema(e)) for e in ALL_EVENTS}


def check_analytics() -> dict[str, list[str]]:
    """The committed schemas of the pseudonymised copies, equal to what the code makes."""
    report: dict[str, list[str]] = {}
    for name, text in _analytics_files().items():
        path = analytics_dir() / name
        if not path.exists() or path.read_text() != text:
            report[f"analytics/{name}"] = [
                "missing or out of date: run `python -m secop_contracts write`"
            ]
    return report


def write_all() -> list[str]:
    """Write every schema file, refusing any breaking change (bump schema_version instead)."""
    refused: list[str] = []
    target = committed_dir()
    target.mkdir(parents=True, exist_ok=True)
    for event in ALL_EVENTS:
        committed, current = load_committed(event), generate(event)
        problems = breaking_changes(committed, current) if committed else []
        if problems:
            refused += [f"{schema_filename(event)}: {p}" for p in problems]
            continue
        (target / schema_filename(event)).write_text(dump(current))
    analytics_dir().mkdir(exist_ok=True)
    for name, text in _analytics_files().items():
        (analytics_dir() / name).write_text(text)
    if not refused:  # the AsyncAPI documents would show the refused change
        from secop_contracts.asyncapi import write_files

        write_files()
    return refused


def _check_asyncapi() -> dict[str, list[str]]:
    """Drift of the AsyncAPI documents in ``contracts/asyncapi/`` (they reuse these schemas)."""
    from secop_contracts.asyncapi import check_files

    return check_files()
