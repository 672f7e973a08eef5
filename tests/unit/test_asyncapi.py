"""The AsyncAPI documents: committed without drift, valid AsyncAPI 3.0.0, true to the contracts,
nothing personal in the analytics copies, and served by every service with Kafka traffic."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator
from secop_contracts import ALL_EVENTS, EVENTS_BY_TYPE
from secop_contracts.access import (
    PROJECTOR,
    SERVICES,
    SUBSCRIPTIONS,
    consumed_topics,
    owned_topics,
)
from secop_contracts.asyncapi import (
    DOCUMENTED,
    check_files,
    committed_dir,
    committed_files,
    document,
    marked_paths,
)
from secop_contracts.compat import generate
from secop_contracts.envelope import PERSONAL_DATA, SEALED_FOR

pytestmark = pytest.mark.unit

META_SCHEMA = committed_dir() / "_schema" / "asyncapi-3.0.0.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    meta = json.loads(META_SCHEMA.read_text())
    assert meta["properties"]["asyncapi"]["const"] == "3.0.0"
    return Draft7Validator(meta)


@pytest.fixture(scope="module")
def analytics_doc() -> dict[str, Any]:
    return document(PROJECTOR)


def pointed(doc: dict[str, Any], ref: str) -> Any:
    """The node a local ``$ref`` (``#/a/b``) points at; KeyError when it points nowhere."""
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    if not isinstance(node, dict):
        return []
    found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    return found + [r for value in node.values() for r in refs(value)]


def reachable(doc: dict[str, Any], node: Any) -> list[Any]:
    """``node`` and every schema it reaches through ``$ref``, once each."""
    seen: dict[str, Any] = {}
    todo, found = [node], [node]
    while todo:
        for ref in refs(todo.pop()):
            if ref not in seen:
                seen[ref] = pointed(doc, ref)
                todo.append(seen[ref])
                found.append(seen[ref])
    return found


def keys_in(node: Any) -> set[str]:
    if isinstance(node, list):
        return {k for item in node for k in keys_in(item)}
    if not isinstance(node, dict):
        return set()
    return set(node) | {k for value in node.values() for k in keys_in(value)}


def addresses(doc: dict[str, Any], action: str) -> list[str]:
    return sorted(
        pointed(doc, op["channel"]["$ref"])["address"]
        for op in doc["operations"].values()
        if op["action"] == action
    )


# -- committed, valid, consistent -------------------------------------------------------------


def test_the_committed_documents_are_exactly_what_the_contracts_generate() -> None:
    assert check_files() == {}
    assert sorted(committed_files()) == sorted(f"{s}.yaml" for s in DOCUMENTED)
    for name, text in committed_files().items():
        assert (committed_dir() / name).read_text() == text, f"{name} drifted"


@pytest.mark.parametrize("service", DOCUMENTED)
def test_each_committed_document_is_valid_asyncapi_3_0_0(
    service: str, validator: Draft7Validator
) -> None:
    doc = yaml.safe_load((committed_dir() / f"{service}.yaml").read_text())
    errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert doc["asyncapi"] == "3.0.0"
    assert service in doc["info"]["title"]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["operations"]["send.UserSignedIn"].update(action="publish"),  # AsyncAPI 2
        lambda d: d["servers"]["production"].pop("protocol"),
        lambda d: d["components"]["messages"]["UserSignedIn"]["bindings"]["kafka"].update(
            bindingVersion="9.9.9"
        ),
        lambda d: d["components"]["schemas"]["UserSignedInPayload"].update(required="user_id"),
    ],
)
def test_the_official_schema_refuses_a_spoiled_document(spoil, validator) -> None:
    """The validation above is not vacuous: the vendored schema and its embedded definitions
    (JSON Schema draft-07, the Kafka bindings) do take part."""
    doc = document("registration")
    assert not list(validator.iter_errors(doc))
    spoil(doc)
    assert list(validator.iter_errors(doc))


@pytest.mark.parametrize("service", DOCUMENTED)
def test_every_reference_points_inside_the_document(service: str) -> None:
    doc = document(service)
    for ref in refs(doc):
        assert ref.startswith("#/"), ref
        pointed(doc, ref)
    for op in doc["operations"].values():  # an operation's messages are its channel's
        channel = op["channel"]["$ref"]
        assert all(m["$ref"].startswith(f"{channel}/messages/") for m in op["messages"])


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_sends_what_it_owns_and_receives_what_it_subscribes_to(service: str) -> None:
    doc = document(service)
    subscribed = sorted(SUBSCRIPTIONS[service])
    dead_letters = [f"{t}.DLT" for t in subscribed]
    assert addresses(doc, "send") == sorted(owned_topics(service) + dead_letters)
    assert addresses(doc, "receive") == subscribed
    for op in doc["operations"].values():
        if op["action"] == "receive":
            assert op["bindings"]["kafka"]["groupId"] == {"type": "string", "enum": [service]}


def test_the_projector_receives_every_topic_and_sends_only_the_copies() -> None:
    doc = document(PROJECTOR)
    every = sorted(e.TOPIC for e in ALL_EVENTS)
    assert addresses(doc, "receive") == consumed_topics(PROJECTOR) == every
    copies = [f"analytics.{t}" for t in every]
    assert addresses(doc, "send") == sorted(copies + [f"{c}.DLT" for c in copies])


@pytest.mark.parametrize("service", SERVICES)
def test_each_event_message_carries_its_schema_key_and_headers(service: str) -> None:
    doc = document(service)
    for topic in owned_topics(service) + list(SUBSCRIPTIONS[service]):
        message = doc["components"]["messages"][topic]
        assert message["contentType"] == "application/json"
        payload = pointed(doc, message["payload"]["$ref"])
        assert payload["properties"]["event_type"]["const"] == topic
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string"
        assert f"payload.{EVENTS_BY_TYPE[topic].KEY_FIELD}" in key["description"]
        headers = pointed(doc, message["headers"]["$ref"])
        assert {"event_id", "event_type", "traceparent"} <= set(headers["properties"])
        assert "traceparent" not in headers["required"]  # optional


def test_a_deployments_prefix_goes_before_every_address_and_group() -> None:
    doc = document("support", "t1.")
    assert doc["channels"]["EntitySubmitted.DLT"]["address"] == "t1.EntitySubmitted.DLT"
    group = doc["operations"]["receive.EntitySubmitted"]["bindings"]["kafka"]["groupId"]
    assert group["enum"] == ["t1.support"]


# -- the analytics contract -------------------------------------------------------------------


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.TOPIC)
def test_an_analytics_copy_holds_nothing_personal_and_says_which_fields_are_hashes(
    event, analytics_doc
) -> None:
    doc = analytics_doc
    op = doc["operations"][f"send.analytics.{event.TOPIC}"]
    message = pointed(doc, pointed(doc, op["messages"][0]["$ref"])["$ref"])
    schemas = reachable(doc, message["payload"])
    marks = keys_in(schemas)
    assert PERSONAL_DATA not in marks and SEALED_FOR not in marks
    raw = generate(event)
    personal = marked_paths(raw, PERSONAL_DATA)
    for path in personal:
        assert f"`{path}`" in message["description"], f"{path} not said to be a keyed hash"
    for path in marked_paths(raw, SEALED_FOR):
        assert f"`{path}`" in message["description"], f"{path} not said to be dropped"
    assert "Nothing personal is in this message" in message["description"]
    if personal:
        assert "x-pseudonymised" in marks


def test_the_projectors_dead_letters_are_described_as_closed_to_analytics(analytics_doc) -> None:
    doc = analytics_doc
    channel = doc["channels"]["analytics.UserRegistered.DLT"]
    assert "never `analytics`" in channel["description"]
    # the raw record may hold anything: its payload names no contract schema
    message = pointed(doc, channel["messages"]["analytics.DeadLetter"]["$ref"])
    assert "$ref" not in message["payload"]


# -- the headers really sent ------------------------------------------------------------------


async def test_the_relay_sends_the_headers_the_document_names() -> None:
    """The header names are the one thing mirrored from the runtime: FastStream's in-memory
    broker shows what the outbox relay's publish really puts on a record."""
    from faststream.kafka import KafkaMessage, TestKafkaBroker
    from secop_contracts.registration import UserSignedOut
    from secop_runtime.outbox import stored
    from secop_runtime.service import ServiceRuntime
    from secop_runtime.settings import ServiceSettings

    runtime = ServiceRuntime(
        ServiceSettings(service_name="registration"), publishes=[], outbox_collections=[]
    )
    seen: list[dict[str, Any]] = []

    @runtime.broker.subscriber("UserSignedOut")
    async def record(msg: KafkaMessage) -> None:
        seen.append(dict(msg.headers))

    now = datetime.now(UTC)
    event = UserSignedOut(
        producer="registration",
        payload={
            "user_id": uuid4(),
            "session_id": secrets.token_hex(8),
            "token_expires_at": now + timedelta(minutes=15),
            "signed_out_at": now,
        },
    )
    async with TestKafkaBroker(runtime.broker):
        await runtime._publish(stored(event))
    headers = document("registration")["components"]["schemas"]["EventHeaders"]
    assert len(seen) == 1
    assert set(headers["required"]) <= set(seen[0]) <= set(headers["properties"])
    assert seen[0]["event_id"] == str(event.event_id)


# -- served ------------------------------------------------------------------------------------


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from secop_devinfra.keys import generate as generate_keys

    for name, value in generate_keys().env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPERATOR_TOKEN", secrets.token_urlsafe(32))


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_serves_its_own_document(service: str, service_env: None) -> None:
    import importlib

    app = importlib.import_module(f"{service}.app").create_app()
    client = TestClient(app)  # no lifespan: nothing connects
    answer = client.get("/asyncapi")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    doc = answer.json()
    assert doc["asyncapi"] == "3.0.0" and service in doc["info"]["title"]
    assert doc == document(service)
    as_yaml = client.get("/asyncapi.yaml")
    assert as_yaml.status_code == 200 and yaml.safe_load(as_yaml.text) == doc


def test_the_projector_serves_the_analytics_contract() -> None:
    from projector.app import create_app
    from projector.config import Settings

    app = create_app(Settings(pseudonym_key="k" * 32, kafka_topic_prefix="t2."))
    doc = TestClient(app).get("/asyncapi").json()
    assert "projector" in doc["info"]["title"] and "analytics" in doc["info"]["title"]
    assert doc["channels"]["analytics.UserRegistered"]["address"] == "t2.analytics.UserRegistered"


def test_the_portal_has_no_events_and_no_document() -> None:
    from portal.app import create_app
    from portal.config import Settings

    client = TestClient(create_app(Settings(portal_session_key="k" * 40)))
    assert client.get("/asyncapi").status_code == 404


def test_the_vendored_schema_is_the_official_file() -> None:
    import hashlib

    readme = (META_SCHEMA.parent / "README.md").read_text()
    digest = hashlib.sha256(META_SCHEMA.read_bytes()).hexdigest()
    assert digest in readme
    assert (META_SCHEMA.parent / "LICENSE").read_text().strip().startswith("Apache License")
    assert Path(__file__).parents[2] / "contracts" / "asyncapi" == committed_dir()
