"""Opening cases over HTTP: numbers, due dates, the requester's view, rate limits."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

import pytest
from support.domain.business_hours import BOGOTA, bogota_year

from tests.integration.support.conftest import case_body, case_key
from tests.support.kafka import json_values, read_topic
from tests.support.tokens import bearer

pytestmark = pytest.mark.integration

NUMBER = re.compile(r"^CCE-(\d{4})-(\d{6})$")


async def test_opening_a_case_returns_its_number_and_publishes_case_opened(
    start_service, uid, dev_keys
):
    support = await start_service("support")
    client = support.client

    r = await client.post("/cases", json=case_body(uid, subject="Recuperación de usuario"))
    assert r.status_code == 201, r.text
    opened = r.json()
    number = opened["case_number"]
    match = NUMBER.match(number)
    assert match and int(match[1]) == bogota_year(datetime.now(UTC))
    assert opened["status"] == "open"

    records = await read_topic(
        support.settings.kafka_bootstrap_servers, support.settings.topic("CaseOpened")
    )
    assert [r.key.decode() for r in records] == [number]
    event = json_values(records)[0]
    assert event["payload"]["case_number"] == number
    assert event["payload"]["requester"]["email"] == f"ana.{uid}@example.co"
    assert event["payload"]["origin"] == "web"
    assert event["payload"]["opened_by_user"] is None  # no login: only a typed email

    # Signed in, the case names its opener from the token (membership trusts only that);
    # a token that is not valid is refused, never taken as anonymous.
    someone = uuid.uuid4()
    signed = await client.post(
        "/cases", json=case_body(uid), headers=bearer(dev_keys, user_id=someone, username="ana")
    )
    assert signed.status_code == 201, signed.text
    forged = await client.post(
        "/cases", json=case_body(uid), headers={"Authorization": "Bearer not-a-token"}
    )
    assert forged.status_code == 401
    records = await read_topic(
        support.settings.kafka_bootstrap_servers, support.settings.topic("CaseOpened"), at_least=2
    )
    by_number = {e["payload"]["case_number"]: e["payload"] for e in json_values(records)}
    assert by_number[signed.json()["case_number"]]["opened_by_user"] == str(someone)
    assert event["payload"]["first_response_due"].startswith(opened["first_response_due"][:16])

    # The requester follows it with the emailed access key and their email; a wrong key or
    # email looks exactly like no case at all. (Numbers are sequential: the email alone, which
    # anyone may know, let strangers read the desk's replies and write on the case.)
    key = await case_key(support, dev_keys, number)
    assert "sealed_access_key" in event["payload"] and key["X-Case-Key"] not in str(event)
    email = {"email": f"ANA.{uid}@example.co"}
    mine = await client.get(f"/cases/{number}", params=email, headers=key)
    assert mine.status_code == 200
    assert mine.json()["status"] == "open" and mine.json()["messages"] == []
    wrong = await client.get(
        f"/cases/{number}", params={"email": f"otro.{uid}@example.co"}, headers=key
    )
    keyless = await client.get(f"/cases/{number}", params=email)
    guessed = await client.get(f"/cases/{number}", params=email, headers={"X-Case-Key": "x" * 24})
    unknown = await client.get("/cases/CCE-2001-999999", params=email, headers=key)
    malformed = await client.get("/cases/nonsense", params=email, headers=key)
    no_email = await client.get(f"/cases/{number}", headers=key)
    for answer in (wrong, keyless, guessed, unknown, malformed, no_email):
        assert answer.status_code == 404
        assert answer.json() == {"detail": "case not found"}
    sneaky = await client.post(
        f"/cases/{number}/messages", json={"body": "hola", "email": f"ana.{uid}@example.co"}
    )
    assert sneaky.status_code == 404  # the email without the key writes nothing
    written = await client.post(
        f"/cases/{number}/messages",
        json={"body": "hola", "email": f"ana.{uid}@example.co"},
        headers=key,
    )
    assert written.status_code == 201, written.text

    # Bad input is a clear 422, never a 500.
    bad_subject = await client.post("/cases", json=case_body(uid, subject="Nada"))
    assert bad_subject.status_code == 422
    assert bad_subject.json()["detail"][0]["loc"] == ["body", "subject"]
    assert "Recuperación de usuario" in bad_subject.json()["detail"][0]["msg"]
    bad_system = await client.post("/cases", json=case_body(uid, system="SECOP_III"))
    assert bad_system.status_code == 422
    bad_email = await client.post("/cases", json=case_body(uid, requester={"email": "no-at"}))
    assert bad_email.status_code == 422


async def test_due_dates_count_desk_hours_across_a_weekend_and_a_colombian_holiday(
    start_service, uid
):
    support = await start_service("support")
    desk = support.app.state.context()
    body = case_body(uid, subject="Gestión de registro y configuración de Entidades Estatales")

    async def open_at(at: datetime) -> dict:
        desk.now = lambda: at.astimezone(UTC)  # the service's clock, set to a chosen instant
        r = await support.client.post("/cases", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    # 8 desk hours from Friday 18:00: Fri 1 h, Sat 08-12 4 h, Mon 07:00 + 3 h.
    friday = await open_at(datetime(2026, 12, 4, 18, tzinfo=BOGOTA))
    assert _local(friday["first_response_due"]) == datetime(2026, 12, 7, 10, tzinfo=BOGOTA)
    # From Monday Dec 7 18:00: Mon 1 h, Tue Dec 8 (Immaculate Conception) closed, Wed 07 + 7 h.
    monday = await open_at(datetime(2026, 12, 7, 18, tzinfo=BOGOTA))
    assert _local(monday["first_response_due"]) == datetime(2026, 12, 9, 14, tzinfo=BOGOTA)
    # New Year's Eve at 22:00 in Bogotá is already 2027 in UTC: the number keeps Bogotá's year.
    # Jan 1 is a holiday, Sat Jan 2 gives 4 h, Mon Jan 4 07:00 + 4 h.
    late = await open_at(datetime(2026, 12, 31, 22, tzinfo=BOGOTA))
    assert late["case_number"] == "CCE-2026-000003"
    assert _local(late["first_response_due"]) == datetime(2027, 1, 4, 11, tzinfo=BOGOTA)
    early = await open_at(datetime(2027, 1, 2, 9, tzinfo=BOGOTA))
    assert early["case_number"] == "CCE-2027-000001"


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(BOGOTA)


async def test_fifty_concurrent_openings_on_two_instances_get_fifty_consecutive_numbers(
    start_service, uid
):
    shared = {"mongodb_database": f"{uid}_support_shared", "rate_limit_ip_max": 1000}
    first = await start_service("support", instance_id="support-a", **shared)
    second = await start_service("support", instance_id="support-b", **shared)

    async def open_one(i: int) -> str:
        client = (first if i % 2 else second).client
        r = await client.post("/cases", json=case_body(f"{uid}.{i}"))
        assert r.status_code == 201, r.text
        return r.json()["case_number"]

    numbers = await asyncio.gather(*(open_one(i) for i in range(50)))
    assert len(set(numbers)) == 50
    year = bogota_year(datetime.now(UTC))
    assert sorted(numbers) == [f"CCE-{year}-{n:06d}" for n in range(1, 51)]
    # Delivery is at least once: with two relays a copy may be published twice, so count
    # distinct cases, as a consumer would.
    keys: set[str] = set()
    at_least = 50
    while len(keys) < 50:
        records = await read_topic(
            first.settings.kafka_bootstrap_servers,
            first.settings.topic("CaseOpened"),
            at_least=at_least,
        )
        keys, at_least = {r.key.decode() for r in records}, len(records) + 1
    assert sorted(keys) == sorted(numbers)


async def test_rate_limits_engage_per_email_and_per_client_address(start_service, uid):
    support = await start_service(
        "support", rate_limit_email_max=2, rate_limit_ip_max=3, rate_limit_email_window_s=600
    )
    client = support.client
    for _ in range(2):
        assert (await client.post("/cases", json=case_body(uid))).status_code == 201
    third = await client.post("/cases", json=case_body(uid))
    assert third.status_code == 429
    assert 0 < int(third.headers["Retry-After"]) <= 600
    assert "email" in third.json()["detail"]
    # A refused attempt does not count: another address from the same IP still gets through.
    assert (await client.post("/cases", json=case_body(f"{uid}.b"))).status_code == 201
    fourth = await client.post("/cases", json=case_body(f"{uid}.c"))
    assert fourth.status_code == 429
    assert "network address" in fourth.json()["detail"]
    assert await support.db["cases"].count_documents({}) == 3


async def test_the_client_behind_a_trusted_proxy_is_the_rightmost_untrusted_hop(start_service, uid):
    """The leftmost X-Forwarded-For entry is the client's to write: it must not pick the key.
    Two clients behind one proxy are limited apart; IPv6 clients by their /64."""
    support = await start_service(
        "support",
        rate_limit_ip_max=2,
        trusted_proxies=["127.0.0.1"],  # the in-process peer
    )

    async def open_case(forwarded: str, n: int) -> int:
        body = case_body(f"{uid}.{n}")
        r = await support.client.post("/cases", json=body, headers={"X-Forwarded-For": forwarded})
        return r.status_code

    # Client A forges a new leftmost entry each time; the proxy appended A's real address.
    assert [await open_case(f"10.9.9.{n}, 203.0.113.7", n) for n in range(3)] == [201, 201, 429]
    # Client B, behind the same proxy, is not A.
    assert await open_case("203.0.113.8", 10) == 201
    # Two addresses of one IPv6 /64 are one client.
    assert await open_case("2001:db8:1:2::1", 20) == 201
    assert await open_case("2001:db8:1:2::ffff", 21) == 201
    assert await open_case("2001:db8:1:2:abcd::9", 22) == 429


async def test_guessing_a_cases_key_is_limited_per_client_and_per_case(
    start_service, uid, dev_keys
):
    support = await start_service(
        "support", follow_limit_per_minute=5, trusted_proxies=["127.0.0.1"]
    )
    number = (await support.client.post("/cases", json=case_body(uid))).json()["case_number"]
    email = {"email": f"ana.{uid}@example.co"}
    # Wrong keys from many addresses: the case's own count of failures stops them.
    codes = [
        (
            await support.client.get(
                f"/cases/{number}",
                params=email,
                headers={"X-Case-Key": f"guess{n}", "X-Forwarded-For": f"203.0.113.{n}"},
            )
        ).status_code
        for n in range(8)
    ]
    assert codes[:5] == [404] * 5 and set(codes[5:]) == {429}
    # ... but never keep the requester, who has the key, out of their case.
    key = await case_key(support, dev_keys, number)
    mine = await support.client.get(
        f"/cases/{number}", params=email, headers={**key, "X-Forwarded-For": "198.51.100.2"}
    )
    assert mine.status_code == 200, mine.text
    # One address is limited whatever it asks.
    one = [
        (
            await support.client.get(
                f"/cases/{number}",
                params=email,
                headers={**key, "X-Forwarded-For": "192.0.2.9"},
            )
        ).status_code
        for _ in range(7)
    ]
    assert one[:5] == [200] * 5 and set(one[5:]) == {429}
