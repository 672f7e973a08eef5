"""The event contracts: committed schemas stay compatible, personal data and secrets marked."""

from __future__ import annotations

import json
from copy import deepcopy

import pytest
from secop_contracts import ALL_EVENTS, EVENTS_BY_TYPE, UnknownEventError, parse_event
from secop_contracts.compat import breaking_changes, check_all, generate
from secop_contracts.registration import UserRegistered

pytestmark = pytest.mark.unit

BASE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "kind": {"enum": ["a", "b"], "type": "string"},
        "nick": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "age"],
}


def test_committed_schemas_match_the_models_and_nothing_breaks() -> None:
    assert check_all() == {}


def test_an_added_optional_field_is_compatible() -> None:
    new = deepcopy(BASE)
    new["properties"]["extra"] = {"type": "string"}
    assert breaking_changes(BASE, new) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["properties"].pop("age"), "field lost or renamed"),
        (
            lambda s: s["properties"].__setitem__("years", s["properties"].pop("age")),
            "field lost or renamed",
        ),
        (lambda s: s["properties"].__setitem__("age", {"type": "string"}), "type changed"),
        (lambda s: s["required"].append("nick"), "optional field became required"),
        (
            lambda s: (
                s["properties"].__setitem__("new", {"type": "string"}),
                s["required"].append("new"),
            ),
            "new field is required",
        ),
        (lambda s: s["properties"]["kind"].__setitem__("enum", ["a"]), "allowed values withdrawn"),
        (lambda s: s["properties"].__setitem__("nick", {"type": "string"}), "type changed"),
    ],
)
def test_a_breaking_change_is_detected(change, expected) -> None:  # type: ignore[no-untyped-def]
    new = deepcopy(BASE)
    change(new)
    problems = breaking_changes(BASE, new)
    assert any(expected in p for p in problems), problems


def test_a_nested_retype_is_detected_through_refs() -> None:
    old = generate(UserRegistered)
    new = deepcopy(old)
    new["$defs"]["UserRegisteredPayload"]["properties"]["email"] = {"type": "integer"}
    assert any("payload.email" in p for p in breaking_changes(old, new))


def test_every_event_has_its_topic_named_after_it_and_the_envelope() -> None:
    for event in ALL_EVENTS:
        schema = generate(event)
        assert schema["properties"]["event_type"]["const"] == event.TOPIC == event.__name__
        for name in (
            "event_id",
            "event_type",
            "schema_version",
            "occurred_at",
            "producer",
            "correlation_id",
            "causation_id",
            "payload",
        ):
            assert name in schema["properties"], (event.TOPIC, name)
        assert event.KEY_FIELD, f"{event.TOPIC} names no aggregate key"


def test_personal_data_and_sealed_tokens_are_marked() -> None:
    schema = json.dumps(generate(UserRegistered))
    payload = generate(UserRegistered)["$defs"]["UserRegisteredPayload"]["properties"]
    assert payload["email"]["x-personal-data"] is True
    assert payload["document_number"]["x-personal-data"] is True
    assert payload["sealed_confirmation_token"]["x-sealed-for"] == "notification"
    assert "x-personal-data" not in payload["user_id"]
    assert "password" not in schema and "security_answer" not in schema


def test_no_event_can_carry_a_secret_in_clear() -> None:
    forbidden = ("password", "hash", "security_answer", "secret")
    for event in ALL_EVENTS:
        defs = generate(event)["$defs"].values()
        fields = {name.lower() for d in defs for name in d.get("properties", {})}
        for name in fields:
            assert not any(word in name for word in forbidden), f"{event.TOPIC}.{name}"
            if name.endswith("token"):
                assert name.startswith("sealed_"), f"{event.TOPIC}.{name} travels in clear"


def test_parse_event_refuses_garbage_unknown_types_and_invalid_payloads() -> None:
    with pytest.raises(ValueError):
        parse_event(b"\xff not json")
    with pytest.raises(UnknownEventError):
        parse_event(b'{"event_type": "Nope"}')
    with pytest.raises(ValueError):
        parse_event(b'{"event_type": "UserRegistered", "producer": "x", "payload": {}}')
    with pytest.raises(UnknownEventError):
        parse_event(b"[1, 2]")
    assert set(EVENTS_BY_TYPE) == {e.TOPIC for e in ALL_EVENTS}


def test_the_access_matrix_matches_what_each_service_publishes_and_subscribes_to(
    monkeypatch,
) -> None:
    """The ACLs come from the contracts: they must say exactly what the services do."""
    import importlib
    import secrets

    from secop_contracts.access import SERVICES, SUBSCRIPTIONS, owned_topics
    from secop_devinfra.keys import generate

    for name, value in generate().env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPERATOR_TOKEN", secrets.token_urlsafe(32))
    for service in SERVICES:
        runtime = importlib.import_module(f"{service}.app").create_app().state.runtime
        assert sorted(e.TOPIC for e in runtime.consumed) == sorted(SUBSCRIPTIONS[service])
        assert sorted(e.TOPIC for e in runtime.publishes) == owned_topics(service)


def test_each_service_may_write_only_what_it_owns_and_analytics_nothing() -> None:
    from secop_contracts.access import Grant, grants

    acl = grants("p.")
    writes = {
        (g.principal, g.name) for g in acl if g.operation == "WRITE" and g.resource == "TOPIC"
    }
    assert ("support", "p.AccountActivationDecided") in writes
    assert ("notification", "p.AccountActivationDecided") not in writes
    assert ("membership", "p.UserSessionsRevoked") not in writes
    assert ("membership", "p.UserRegistered.DLT") in writes  # its consumer's dead letters
    assert not [g for g in acl if g.principal == "analytics" and g.operation == "WRITE"]
    assert Grant("analytics", "TOPIC", "p.analytics.UserRegistered", "READ") in acl
    assert not [g for g in acl if g.principal == "analytics" and g.name == "p.UserRegistered"]
    assert Grant("membership", "GROUP", "p.membership", "READ") in acl
    # the projector reads every raw topic and writes only the copies
    projector_writes = {name for principal, name in writes if principal == "projector"}
    assert "p.analytics.UserRegistered" in projector_writes
    assert not [t for t in projector_writes if not t.startswith("p.analytics.")]
    assert Grant("projector", "TOPIC", "p.UserRegistered", "READ") in acl
    # a deployment's provisioning creates every topic: nobody may create one
    assert not [g for g in acl if g.operation == "CREATE"]
    assert Grant("membership", "TOPIC", "p.AccessDecided", "CREATE") in grants("p.", create=True)


def test_the_readme_prints_the_trust_table_the_contracts_generate() -> None:
    from pathlib import Path

    from secop_contracts.access import trust_table

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert trust_table() in readme, "run `python -m secop_contracts trust` into the README"


def test_the_analytics_copy_keeps_ids_and_hashes_every_personal_field_even_nested() -> None:
    from datetime import UTC, datetime

    from secop_contracts.analytics import analytics_schema, keyed_hash, pseudonymise
    from secop_contracts.support import CaseOpened, CaseOpenedPayload, Requester

    key = b"k" * 32
    requester = Requester(
        full_name="Laura Gómez", email="laura@example.co", entity_name="Alcaldía de Cali"
    )
    now = datetime.now(UTC)
    payload = CaseOpenedPayload(
        case_number="CCE-2026-000001",
        requester=requester,
        system="SECOP_II",
        request_type="Solicitud",
        subject="Otros",
        user_type="comprador",
        description="Mi cédula es 1020304050",
        opened_at=now,
        first_response_due=now,
    )
    event = CaseOpened(producer="support", payload=payload)
    copy = pseudonymise(event, key)
    person = copy["payload"]["requester"]
    assert person["email"] == keyed_hash("laura@example.co", key) != "laura@example.co"
    assert person["full_name"] == keyed_hash("Laura Gómez", key)
    # typed by a person (a natural-person supplier's own name): hashed as well
    assert person["entity_name"] == keyed_hash("Alcaldía de Cali", key)
    assert person["time_zone"] == "America/Bogota"  # not personal: copied
    assert copy["payload"]["case_number"] == "CCE-2026-000001"
    assert "1020304050" not in str(copy)
    schema = analytics_schema(CaseOpened)
    email = schema["$defs"]["Requester"]["properties"]["email"]
    assert email["x-pseudonymised"] is True and "x-personal-data" not in email
    with pytest.raises(ValueError, match="32 bytes"):
        pseudonymise(event, b"short")


#: Strings the analytics copies carry in clear, each reviewed: ids, codes, catalogue values,
#: places and time zones. A new free-text field must be marked personal or added here.
CLEAR_STRINGS = {
    "correlation_id", "producer",
    "payload.business_area", "payload.case_number", "payload.changed_by",
    "payload.changed_fields[]", "payload.country", "payload.delivery_id", "payload.department",
    "payload.document_type", "payload.documents[].content_type", "payload.documents[].doc_type",
    "payload.documents[].document_id", "payload.documents[].sha256", "payload.message_id",
    "payload.municipality", "payload.organisation_type",
    "payload.recipient_domain", "payload.request_type", "payload.requester.department",
    "payload.requester.municipality", "payload.requester.time_zone", "payload.roles[]",
    "payload.session_id", "payload.source_event_type", "payload.subject", "payload.template",
    "payload.time_zone", "payload.administrators[].time_zone", "payload.submitted_by.time_zone",
    "payload.user.time_zone", "payload.content_type", "payload.sha256",
}  # fmt: skip


def _clear_strings(node: dict, root: dict, path: str, found: set[str]) -> None:
    if "$ref" in node:
        _clear_strings(root["$defs"][node["$ref"].split("/")[-1]], root, path, found)
        return
    if node.get("x-pseudonymised"):
        return
    variants = [node, *[v for v in node.get("anyOf", []) if isinstance(v, dict)]]
    if any(v.get("type") == "string" for v in variants) and not any(
        "format" in v or "enum" in v or "const" in v for v in variants
    ):
        found.add(path)
    for name, sub in node.get("properties", {}).items():
        _clear_strings(sub, root, f"{path}.{name}".lstrip("."), found)
    if isinstance(node.get("items"), dict):
        _clear_strings(node["items"], root, f"{path}[]", found)
    for variant in node.get("anyOf", []):
        if isinstance(variant, dict) and ("$ref" in variant or "properties" in variant):
            _clear_strings(variant, root, path, found)


def test_no_free_text_reaches_the_analytics_copies_unreviewed() -> None:
    from secop_contracts.analytics import analytics_schema

    found: set[str] = set()
    for event in ALL_EVENTS:
        schema = analytics_schema(event)
        _clear_strings(schema, schema, "", found)
    assert found == CLEAR_STRINGS


def test_the_testcontainers_cluster_creates_every_principal_the_contracts_grant() -> None:
    from secop_contracts.access import ADMIN, PRINCIPALS
    from secop_testcontainers.cluster import PRINCIPALS as CREATED

    assert set(CREATED) == {ADMIN, *PRINCIPALS}
