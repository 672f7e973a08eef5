"""The analytics example (examples/analytics) against the running cluster, as an analytics team
runs it: people sign up, an entity is approved and another refused, access requests are answered;
then ``secop-analytics load`` reads the pseudonymised ``analytics.*`` topics as the ``analytics``
principal into DuckDB, and the report counts those flows without any personal value in the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from secop_analytics.load import load
from secop_analytics.settings import Settings
from secop_contracts.access import ANALYTICS, PROJECTOR
from secop_devinfra.cluster import ServiceProcs
from secop_devinfra.procs import free_port
from secop_runtime.kafka_provisioning import admin_config
from secop_runtime.settings import ServiceSettings

from tests.e2e.person import PASSWORD, Person, register_entity
from tests.support.mailbox import Mailbox
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture
def projector(cluster: ServiceProcs) -> Iterator[None]:
    """The e2e cluster runs without the projector: this test starts it on the cluster's topic
    prefix (with its grants and the analytics principal's), and after it stops the projector
    and deletes the consumer groups it and the loads used, so later tests find the cluster's
    groups as they were (the fault test expects exactly the four services' groups)."""
    ours = [f"{cluster.prefix}.{ANALYTICS}"]
    running = cluster.procs.get(PROJECTOR)
    if running is not None and running.running:
        yield
        delete_groups(cluster, ours)
        return
    cluster.ports.setdefault(PROJECTOR, free_port())
    cluster.grant((PROJECTOR, ANALYTICS))
    proc = cluster.start(PROJECTOR)
    try:
        proc.wait_until(lambda: cluster.ready(PROJECTOR), 90)
        yield
    finally:
        proc.stop()
        cluster.procs.pop(PROJECTOR, None)
        delete_groups(cluster, [*ours, f"{cluster.prefix}.{PROJECTOR}"])


def delete_groups(cluster: ServiceProcs, stems: list[str], timeout: float = 60) -> None:
    """Delete (as the admin) every consumer group whose name starts with one of ``stems``,
    until none is left (a member that has not left yet makes a group undeletable)."""
    settings = ServiceSettings(
        service_name="admin",
        kafka_bootstrap_servers=cluster.endpoints.kafka_bootstrap,
        **cluster.endpoints.kafka_fields("admin"),  # type: ignore[arg-type]
    )
    admin = AdminClient(admin_config(settings))
    deadline = time.monotonic() + timeout
    while True:
        listed = admin.list_consumer_groups().result(timeout=30).valid
        names = [g.group_id for g in listed if g.group_id.startswith(tuple(stems))]
        if not names:
            return
        for future in admin.delete_consumer_groups(names).values():
            with contextlib.suppress(KafkaException):  # not empty yet: listed again below
                future.result(timeout=30)
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer groups left behind: {names}")
        time.sleep(1)


def analytics_env(cluster: ServiceProcs, database: Path, group: str) -> dict[str, str]:
    """What the operators hand an analytics team: the broker, its CA, the analytics
    principal's password, and a group name starting with analytics (here under the cluster's
    topic prefix). Nothing of a service's own settings."""
    own = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "ANALYTICS_"))}
    return (
        own
        | cluster.endpoints.kafka_env(ANALYTICS)
        | {
            "KAFKA_BOOTSTRAP_SERVERS": cluster.endpoints.kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": f"{cluster.prefix}.",
            "ANALYTICS_GROUP_ID": group,
            "ANALYTICS_DATABASE": str(database),
        }
    )


async def secop_analytics(env: dict[str, str], *args: str) -> str:
    """The command, as a cron job runs it; its standard output."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "secop_analytics", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


async def decide_activation(agent: Person, account_id: str, decision: str, message: str) -> None:
    """The desk's decision on the entity's activation case (person.approve, any decision)."""

    async def activation_case() -> Any:
        queue = await agent.call("support", "GET", "/cases", params={"status": "open"})
        return next((c for c in queue.json()["items"] if c.get("account_id") == account_id), None)

    case = await eventually(activation_case, 60, what="the activation case")
    decided = await agent.call(
        "support",
        "POST",
        f"/cases/{case['case_number']}/activation",
        json={"decision": decision, "message": message},
    )
    assert decided.status_code == 200, decided.text


def personal_values(people: list[Person], forms: list[dict[str, Any]], texts: list[str]) -> set:
    """Every personal value this test typed, as typed and as the services may normalise it."""
    found = {PASSWORD, *texts}
    for p in people:
        phone = "300" + p.document_number[-7:]
        found |= {p.email, p.username, f"Persona {p.tag}", p.document_number, phone}
    for form in forms:
        found |= {form["nit"], form["legal_name"], form["notification_email"]}
        found |= {form["office_email"], form["legal_name"].upper().replace("Í", "I")}
    return found


async def test_the_analytics_example_reports_the_flows_without_any_personal_value(
    cluster: ServiceProcs, e2e_mailbox: Mailbox, projector: None, tmp_path: Path
) -> None:
    # --- the flows, through the HTTP APIs --------------------------------------------------
    agent = await Person(cluster, e2e_mailbox).become_user()
    agent.grant_role("support_agent")
    await agent.log_in()  # roles reach the token at the next login
    admin = await Person(cluster, e2e_mailbox).become_user()
    approved, approved_form = await register_entity(admin)
    refused, refused_form = await register_entity(admin)
    await decide_activation(agent, approved, "approve", "Documentos validados")
    refusal = f"Documentos ilegibles {admin.tag}"
    await decide_activation(agent, refused, "reject", refusal)

    async def active() -> bool:
        desk = await admin.call("membership", "GET", f"/accounts/{approved}/desk")
        return desk.json()["account"]["status"] == "active"

    await eventually(active, 60, what="the approved entity active")
    accepted, rejected, waiting = [await Person(cluster, e2e_mailbox).become_user() for _ in "abc"]
    for person in (accepted, rejected, waiting):
        asked = await person.call("membership", "POST", f"/accounts/{approved}/access-requests")
        assert asked.status_code == 201, asked.text
    members = f"/accounts/{approved}/members"
    ok = await admin.call(
        "membership", "POST", f"{members}/{accepted.user_id}/accept", json={"roles": ["buyer"]}
    )
    assert ok.status_code == 200, ok.text
    reason = f"Sin vínculo con la entidad {rejected.tag}"
    no = await admin.call(
        "membership", "POST", f"{members}/{rejected.user_id}/reject", json={"reason": reason}
    )
    assert no.status_code == 200, no.text
    people = [agent, admin, accepted, rejected, waiting]

    # --- load, as the analytics principal, until every event of those flows is in ----------
    database = tmp_path / "analytics.duckdb"
    env = analytics_env(cluster, database, f"{cluster.prefix}.analytics-e2e-{uuid.uuid4().hex}")
    expected = Counter(
        {(t, p.user_id): 1 for p in people for t in ("UserRegistered", "UserConfirmed")}
        | {
            ("EntitySubmitted", approved): 1,
            ("AccountActivated", approved): 1,
            ("EntitySubmitted", refused): 1,
            ("AccountRejected", refused): 1,
            ("AccessRequested", approved): 3,
            ("AccessDecided", approved): 2,
        }
    )

    def stored() -> Counter:
        rows = query(database, "SELECT type, key, count(*) FROM events GROUP BY ALL")
        return Counter({(t, k): n for t, k, n in rows if (t, k) in expected})

    async def loaded() -> bool:
        await secop_analytics(env, "load", "--until-idle", "3")
        return stored() == expected

    await eventually(loaded, 180, what="the flows' events in DuckDB")

    # --- the report counts them ------------------------------------------------------------
    report = json.loads(await secop_analytics(env, "report", "--json"))
    assert sum(day["sign_ups"] for day in report["sign_ups_per_day"]) >= len(people)
    assert sum(day["confirmed"] for day in report["sign_ups_per_day"]) >= len(people)
    assert report["time_to_confirmation"]["confirmed"] >= len(people)
    assert report["time_to_confirmation"]["median_s"] > 0
    activations = Counter(
        {(r["kind"], r["outcome"]): r["submissions"] for r in report["activation_lead_time"]}
    )
    assert activations[("entity", "approved")] >= 1 and activations[("entity", "refused")] >= 1
    outcomes = Counter({r["outcome"]: r["requests"] for r in report["access_request_outcomes"]})
    assert outcomes["accepted"] >= 1 and outcomes["refused"] >= 1 and outcomes["pending"] >= 1
    # ... and exactly, for the keys this test knows
    ids = [p.user_id for p in people]
    confirmed = query(
        database,
        "SELECT user_id FROM confirmations WHERE seconds > 0 AND list_contains(?, user_id)",
        ids,
    )
    assert sorted(u for (u,) in confirmed) == sorted(ids)
    lead = query(
        database,
        "SELECT account_id, outcome FROM activation_lead_times "
        "WHERE seconds > 0 AND account_id IN (?, ?)",
        approved,
        refused,
    )
    assert sorted(lead) == sorted([(approved, "approved"), (refused, "refused")])
    requests = dict(
        query(
            database, "SELECT user_id, outcome FROM access_requests WHERE account_id = ?", approved
        )
    )
    assert requests == {
        accepted.user_id: "accepted",
        rejected.user_id: "refused",
        waiting.user_id: "pending",
    }
    text = await secop_analytics(env, "report")
    assert "Sign-ups per day" in text and "Access requests" in text

    # --- a second load reads everything again (a new group) and stores none of it twice -----
    [(before,)] = query(database, "SELECT count(*) FROM events")
    flows = stored()
    again = Settings.from_env(env, group_id=f"{cluster.prefix}.analytics-again-{uuid.uuid4().hex}")
    added = await asyncio.to_thread(load, again, 3.0)
    [(after,)] = query(database, "SELECT count(*) FROM events")
    assert added.duplicates >= before  # every event already stored came again...
    assert after == before + added.stored  # ...and only events new since then were added
    assert stored() == flows == expected

    # --- no personal value of the flows anywhere in the file's tables -----------------------
    values = personal_values(people, [approved_form, refused_form], [refusal, reason])
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        dump = "\n".join(str(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)  # noqa: S608
        [(email_hash,)] = con.execute(
            "SELECT payload->>'email' FROM events WHERE type = 'UserRegistered' AND key = ?",
            [admin.user_id],
        ).fetchall()
    assert set(tables) == {"events", "rejected_records"}
    assert len(dump) > 10_000  # the tables were read, not an empty file
    leaked = sorted(v for v in values if v.lower() in dump.lower())
    assert leaked == [], f"personal values found in DuckDB: {leaked}"
    assert re.fullmatch("[0-9a-f]{64}", email_hash)  # the keyed hash stands in its place
