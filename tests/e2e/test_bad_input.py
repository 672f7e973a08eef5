"""Bad input refused: fuzzed HTTP APIs, poison events on every consumed topic, hostile uploads."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from secop_devinfra.cluster import DEV_OPERATOR_TOKEN, SERVICES, ServiceProcs
from secop_devinfra.infra import LocalInfra

from tests.e2e.person import PDF, Person, common_form
from tests.support.kafka import options_for, produce_raw, read_topic

pytestmark = pytest.mark.e2e

EXAMPLES = os.environ.get("SECOP_FUZZ_EXAMPLES", "10")
SEED = os.environ.get("SECOP_FUZZ_SEED", "7")
POISON = (
    b"\xff\xfe not json at all",
    b'{"event_type": "UserRegistered", "producer": "x", "payload": {"user_id": 1}}',
    b'{"event_type": "NoSuchEvent", "producer": "x", "payload": {}}',
)


def consumed_topics(cluster: ServiceProcs, name: str) -> list[str]:
    """What a service subscribes to, from its own composition root (nothing is connected)."""
    settings_cls = importlib.import_module(f"{name}.config").Settings
    # Read from the environment the process gets, as the process reads it (JSON lists included).
    with patch.dict(os.environ, cluster.env_for(name), clear=True):
        settings = settings_cls()
    app = importlib.import_module(f"{name}.app").create_app(settings)
    return [e.TOPIC for e in app.state.runtime.consumed]


@pytest.fixture(scope="module")
def fuzz_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every value the fuzzing submitted, one JSON string per line (``schemathesis_hooks``)."""
    return tmp_path_factory.mktemp("fuzz") / "submitted.jsonl"


@pytest.mark.parametrize("service", SERVICES)
async def test_every_http_api_survives_fuzzing_from_its_own_openapi(
    cluster: ServiceProcs, e2e_mailbox: Any, service: str, fuzz_record: Path
) -> None:
    person = await Person(cluster, e2e_mailbox).become_user()
    if service == "support":  # an agent reaches the queue and the decisions, not only 403s
        person.grant_role("support_agent")
        await person.log_in()
    token = DEV_OPERATOR_TOKEN if service == "notification" else person.access_token
    cli = Path(sys.executable).with_name("schemathesis")
    result = await asyncio.to_thread(
        subprocess.run,
        [
            str(cli),
            "run",
            f"{cluster.url(service)}/openapi.json",
            "--checks",
            "not_a_server_error,error_explains_itself",
            "-n",
            EXAMPLES,
            "--seed",
            SEED,
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "1",  # Hypothesis parses lambdas with ast; CPython 3.11's parser races in threads
            "--request-timeout",
            "30",
            "-H",
            f"Authorization: Bearer {token}",
            "--no-color",
        ],
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
            "SECOP_FUZZ_RECORD": str(fuzz_record),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested and int(tested.group(1)) > 0, result.stdout[-2000:]  # it really ran


async def test_poison_events_on_every_consumed_topic_are_dead_lettered_and_consumers_go_on(
    cluster: ServiceProcs, local_infra: LocalInfra
) -> None:
    bootstrap = local_infra.endpoints.kafka_bootstrap
    topics = {
        name: [f"{cluster.prefix}.{t}" for t in consumed_topics(cluster, name)] for name in SERVICES
    }
    for name_topics in topics.values():
        for topic in name_topics:
            for value in POISON:
                await produce_raw(bootstrap, topic, value)
    for name, name_topics in topics.items():
        for topic in name_topics:
            dead = await read_topic(bootstrap, f"{topic}.DLT", at_least=len(POISON), timeout=60)
            values = [r.value for r in dead]
            assert all(p in values for p in POISON), (name, topic)
            assert all(dict(r.headers)["dlt-error"] for r in dead)
        await caught_up(bootstrap, f"{cluster.prefix}.{name}", name_topics)


async def caught_up(bootstrap: str, group: str, topics: list[str], timeout: float = 60) -> None:
    """The group's committed offsets reach the end of every topic: it moved past the poison."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options_for(bootstrap))
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, **options_for(bootstrap))
    await admin.start()
    await probe.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            tps = [
                TopicPartition(t, p) for t in topics for p in (probe.partitions_for_topic(t) or {0})
            ]
            ends = await probe.end_offsets(tps)
            committed = await admin.list_consumer_group_offsets(group)
            behind = {
                tp: ends[tp] - (committed[tp].offset if tp in committed else 0)
                for tp in tps
                if ends[tp] > (committed[tp].offset if tp in committed else 0)
            }
            if not behind:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{group} stuck behind: {behind}")
            await asyncio.sleep(1)
    finally:
        await probe.stop()
        await admin.close()


async def test_oversized_bodies_hostile_uploads_and_broken_multipart_change_nothing(
    cluster: ServiceProcs, e2e_mailbox: Any
) -> None:
    admin = await Person(cluster, e2e_mailbox).become_user()
    account_id, _ = await register_entity_draft(admin)
    path = f"/accounts/{account_id}/documents/rut"
    assert (
        await admin.call(
            "membership", "PUT", path, files={"file": ("rut.pdf", PDF, "application/pdf")}
        )
    ).status_code == 201
    before = (await admin.call("membership", "GET", f"/accounts/{account_id}")).json()

    big_json = {"full_name": "x" * (2 * 1024 * 1024)}
    assert (await admin.call("registration", "POST", "/users", json=big_json)).status_code == 413
    refused = {
        "oversized upload": {"files": {"file": ("rut.pdf", b"%PDF-1.4" + b"0" * (21 << 20))}},
        "blocked type": {"files": {"file": ("rut.exe", b"MZ\x90\x00", "application/pdf")}},
        "fake pdf": {"files": {"file": ("rut.pdf", b"GIF89a fake", "application/pdf")}},
        "broken multipart": {
            "content": b"--xyz\r\nnot a part\r\n",
            "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
        },
        "no file part": {"data": {"note": "nothing"}},
    }
    for what, kwargs in refused.items():
        r = await admin.call("membership", "PUT", path, **kwargs)
        assert 400 <= r.status_code < 500 and r.json()["detail"], (what, r.status_code, r.text)
    after = (await admin.call("membership", "GET", f"/accounts/{account_id}")).json()
    assert after == before
    download = await admin.call("membership", "GET", path)
    assert download.status_code == 200 and download.content == PDF


async def register_entity_draft(admin: Person) -> tuple[str, dict[str, Any]]:
    import random

    nit = str(random.randint(800_000_000, 999_999_999))
    form = {**common_form(admin, f"Entidad {admin.tag}", nit), "kind": "entity"}
    created = await admin.call("membership", "POST", "/accounts", json=form)
    assert created.status_code == 201, created.text
    return created.json()["account_id"], form


def _leaked(record: Path, logs: Path, headers: str) -> tuple[int, set[str]]:
    """How many values the fuzzing submitted, and which of them appear in the service logs
    (JSON: as JSON escapes them) or in the dead-letter headers."""
    submitted = {json.loads(line) for line in record.read_text().splitlines() if line}
    text = "\n".join(p.read_text(errors="replace") for p in logs.glob("*.log"))
    return len(submitted), {
        v for v in submitted if v in text or json.dumps(v)[1:-1] in text or v in headers
    }


async def test_nothing_the_fuzzing_submitted_reaches_a_log_line_or_a_dead_letter_header(
    cluster: ServiceProcs, local_infra: LocalInfra, fuzz_record: Path
) -> None:
    """Input values (a password typed in the wrong box, a person's data) must never be
    written to a service's log or a dead-letter topic's headers."""
    bootstrap = local_infra.endpoints.kafka_bootstrap
    headers = []
    for name in SERVICES:
        for topic in consumed_topics(cluster, name):
            try:
                dead = await read_topic(
                    bootstrap, f"{cluster.prefix}.{topic}.DLT", at_least=1, timeout=5
                )
            except AssertionError:  # nothing dead-lettered there
                continue
            headers += [value.decode(errors="replace") for r in dead for _, value in r.headers]
    count, leaked = _leaked(fuzz_record, cluster.logs, "\n".join(headers))
    assert count, "the fuzzing recorded no values"
    assert not leaked, (
        f"{len(leaked)} submitted values reached logs or headers: {sorted(leaked)[:5]}"
    )
