"""Runtime decisions that need no I/O: what counts as a passing infrastructure failure."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure
from secop_runtime.context import accept_correlation_id
from secop_runtime.logs import configure_logging
from secop_runtime.mongo import expiry_index, is_transient_db_error

pytestmark = pytest.mark.unit


def test_a_busy_or_unreachable_database_is_transient_but_a_refused_write_is_not() -> None:
    busy = OperationFailure("[collection.go:177] database is locked (5) (SQLITE_BUSY)", code=1)
    assert is_transient_db_error(busy)
    assert is_transient_db_error(AutoReconnect("connection reset"))
    assert not is_transient_db_error(DuplicateKeyError("E11000 duplicate key"))
    assert not is_transient_db_error(OperationFailure("unknown operator: $foo", code=2))
    assert not is_transient_db_error(ValueError("database is locked"))


def test_a_callers_correlation_id_is_kept_only_when_safe_to_log() -> None:
    assert accept_correlation_id("req-42.a:b_c") == "req-42.a:b_c"
    fresh = accept_correlation_id("bad id\n{json}")
    assert fresh != "bad id\n{json}" and len(fresh) == 32
    assert accept_correlation_id(None) != accept_correlation_id(None)


def test_only_acknowledgeable_writes_by_id_that_leave_events_pending_are_hinted() -> None:
    from secop_runtime.outbox_hints import hints_of

    insert = {"insert": "users", "documents": [{"_id": "a", "_outbox_pending": True}, {"_id": "b"}]}
    update = {
        "update": "cases",
        "updates": [
            {"q": {"_id": "c"}, "u": {"$set": {"_outbox_pending": "waiting", "x": 1}}},
            {"q": {"_id": {"$in": ["d"]}}, "u": {"$set": {"_outbox_pending": True}}},
            {"q": {"email": "e"}, "u": {"$set": {"_outbox_pending": True}}},
            {"q": {"_id": "f"}, "u": {"$set": {"x": 2}}},
            {"q": {"_id": "g"}, "u": [{"$set": {"_outbox_pending": True}}]},
        ],
    }
    modify = {
        "findAndModify": "deliveries",
        "query": {"_id": "h"},
        "update": {"$set": {"_outbox_pending": True}},
    }
    # an insert's hint carries the document as written; an update's cannot
    assert list(hints_of(insert)) == [("users", "a", {"_id": "a", "_outbox_pending": True})]
    assert list(hints_of(update)) == [("cases", "c", None)]
    assert list(hints_of(modify)) == [("deliveries", "h", None)]
    assert list(hints_of({"delete": "users", "deletes": []})) == []


def test_kafka_errors_that_aiokafka_retries_reach_operators_as_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("probe", "i-1")
        coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
        coordinator.error(
            "Group Coordinator Request failed: %s", "[Error 15] GroupCoordinatorNotAvailableError"
        )
        coordinator.error("Attempt to join group failed due to fatal error: %s", "boom")
        logging.getLogger("secop.probe").error("Unable connect to the moon")  # not aiokafka
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        root.handlers[:], root.level = saved
    assert [(line["level"], line["logger"]) for line in lines] == [
        ("WARNING", "aiokafka.consumer.group_coordinator"),
        ("ERROR", "aiokafka.consumer.group_coordinator"),
        ("ERROR", "secop.probe"),
    ]


def test_no_request_url_reaches_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    """httpx logs each request's URL at INFO, and a portal's call to support carries the
    requester's email in its query: no service logs it."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("probe", "i-1", level="DEBUG")
        logging.getLogger("httpx").info('HTTP Request: GET http://s/cases/1?email=ana%40x.co "200"')
        logging.getLogger("httpcore.http11").debug("send_request_headers.started")
        out = capsys.readouterr().out
    finally:
        root.handlers[:], root.level = saved
    assert "ana%40x.co" not in out and "send_request_headers" not in out


def test_an_insert_the_server_refused_is_read_back_not_published_as_written() -> None:
    """A unique collision (sign-up racing another for the same username) comes back as a
    success with writeErrors: the document as written never existed, so no hint carries it."""
    from types import SimpleNamespace

    from secop_runtime.outbox_hints import OutboxHints

    got: list[Any] = []
    listener = OutboxHints()
    listener.sink = got.extend
    command = {"insert": "users", "documents": [{"_id": "a", "_outbox_pending": True}]}
    for request_id, reply in ((1, {"ok": 1, "n": 1}), (2, {"ok": 1, "n": 0, "writeErrors": [{}]})):
        started = SimpleNamespace(
            command_name="insert", command=command, connection_id=("h", 1), request_id=request_id
        )
        listener.started(started)  # type: ignore[arg-type]
        done = SimpleNamespace(connection_id=("h", 1), request_id=request_id, reply=reply)
        listener.succeeded(done)  # type: ignore[arg-type]
    assert got == [("users", "a", {"_id": "a", "_outbox_pending": True}), ("users", "a", None)]


def _revocation(producer: str, revoked_before: Any, occurred_at: Any = None) -> Any:
    from datetime import UTC, datetime
    from uuid import uuid4

    from secop_contracts.registration import UserSessionsRevoked, UserSessionsRevokedPayload

    payload = UserSessionsRevokedPayload(
        user_id=uuid4(), revoked_before=revoked_before, reason="operator"
    )
    return UserSessionsRevoked(
        producer=producer, payload=payload, occurred_at=occurred_at or datetime.now(UTC)
    )


def test_an_event_is_trusted_only_from_its_owner_and_never_from_the_future() -> None:
    from datetime import UTC, datetime, timedelta

    from secop_contracts import OWNER_BY_TYPE, owner_of
    from secop_runtime.consumer import UntrustedEventError, check_trust

    assert owner_of("AccountActivationDecided") == "support"
    assert owner_of("UserSessionsRevoked") == "registration"
    assert set(OWNER_BY_TYPE.values()) == {"registration", "membership", "support", "notification"}
    now = datetime.now(UTC)
    check_trust(_revocation("registration", now), 300, now)  # the real thing passes
    check_trust(_revocation("registration", now + timedelta(seconds=299)), 300, now)  # skew
    refusals = {
        "must be produced by registration, not 'membership'": _revocation("membership", now),
        "payload.revoked_before lies in the future": _revocation(
            "registration", now + timedelta(days=3650)
        ),
        "occurred_at lies in the future": _revocation(
            "registration", now, occurred_at=now + timedelta(minutes=6)
        ),
        "has no time zone": _revocation("registration", datetime(2026, 1, 1)),
    }
    for expected, event in refusals.items():
        with pytest.raises(UntrustedEventError, match=expected):
            check_trust(event, 300, now)


def test_a_dead_letter_names_the_fields_at_fault_never_their_values() -> None:
    from pydantic import ValidationError
    from secop_contracts import parse_event
    from secop_runtime.consumer import describe_error

    body = b'{"event_type": "UserRegistered", "producer": "registration", "payload": {"email": "ana@example.co", "user_id": "not-a-uuid"}}'  # noqa: E501
    with pytest.raises(ValidationError) as caught:
        parse_event(body)
    text = describe_error(caught.value)
    assert text.startswith("ValidationError:") and "payload.user_id: uuid_parsing" in text
    assert "ana@example.co" not in text and "not-a-uuid" not in text


def test_the_signing_key_is_found_among_the_published_keys_and_a_stranger_is_refused() -> None:
    """Rotation: both keys published, the new one signs, the old one's tokens still verify."""
    from uuid import uuid4

    from secop_devinfra.keys import generate
    from secop_runtime.auth import (
        SigningKeyMismatch,
        TokenError,
        TokenSigner,
        TokenVerifier,
        signing_key_id,
    )

    old, new = generate(kid="2026-01"), generate(kid="2026-07")
    both = {"keys": json.loads(new.jwks)["keys"] + json.loads(old.jwks)["keys"]}
    assert signing_key_id(new.jwt_private_pem, both) == "2026-07"
    assert signing_key_id(old.jwt_private_pem, both) == "2026-01"  # not just the first key
    with pytest.raises(SigningKeyMismatch, match="matches none of the keys"):
        signing_key_id(new.jwt_private_pem, json.loads(old.jwks))

    def token(keys: Any, kid: str) -> str:
        signer = TokenSigner(keys.jwt_private_pem, kid, "secop-registration", "secop")
        signed, _ = signer.sign(
            user_id=uuid4(), username="ana", roles=[], session_id="s", ttl_s=900
        )
        return signed

    during = TokenVerifier(both, "secop-registration", "secop")
    assert during.verify(token(old, "2026-01")).username == "ana"  # issued before the switch
    assert during.verify(token(new, "2026-07")).username == "ana"
    after = TokenVerifier(json.loads(new.jwks), "secop-registration", "secop")
    with pytest.raises(TokenError):
        after.verify(token(old, "2026-01"))  # once the old key is withdrawn


def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() -> None:
    from secop_runtime.clients import client_address, parse_networks, rate_limit_key

    proxies = parse_networks(["10.0.0.0/8", "2001:db8:ffff::1"])
    assert client_address("198.51.100.4", "1.2.3.4", proxies) == "198.51.100.4"  # not a proxy
    assert client_address("10.0.0.5", "6.6.6.6, 203.0.113.7", proxies) == "203.0.113.7"
    assert client_address("10.0.0.5", "203.0.113.7, 10.0.0.9", proxies) == "203.0.113.7"
    assert client_address("10.0.0.5", "", proxies) == "10.0.0.5"
    assert client_address("10.0.0.5", "6.6.6.6, garbage", proxies) == "10.0.0.5"
    assert client_address("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"  # nobody trusted
    assert client_address("::ffff:10.0.0.5", "203.0.113.7", proxies) == "203.0.113.7"
    assert rate_limit_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert rate_limit_key("203.0.113.7") == "203.0.113.7"
    with pytest.raises(ValueError):
        parse_networks(["not-a-network"])


async def test_a_polling_worker_drains_when_woken_and_outlives_a_failing_step() -> None:
    import asyncio

    from secop_runtime.worker import PollingWorker

    queue = [1, 2, 3]
    done: list[int] = []
    failures = [RuntimeError("the database went away")]

    async def step() -> bool:
        if failures:
            raise failures.pop()
        if not queue:
            return False
        done.append(queue.pop(0))
        return True

    worker = PollingWorker("test", step, poll_interval_s=60)
    worker.start()
    try:
        worker.wake()  # the first step failed; a wake-up retries without waiting a minute
        for _ in range(100):
            if len(done) == 3:
                break
            await asyncio.sleep(0.01)
            worker.wake()
        assert done == [1, 2, 3]
        queue.append(4)
        worker.wake()
        for _ in range(100):
            if done[-1] == 4:
                break
            await asyncio.sleep(0.01)
        assert done == [1, 2, 3, 4]
    finally:
        await worker.stop()


def test_a_ttl_index_expires_after_the_retention_in_whole_seconds_within_the_servers_bounds():
    kept = expiry_index("read_at", timedelta(days=365)).document
    assert kept["key"] == {"read_at": 1} and kept["name"] == "read_at_expiry"
    assert kept["expireAfterSeconds"] == 365 * 86400
    due = expiry_index("until", timedelta(), name="until").document
    assert due["name"] == "until" and due["expireAfterSeconds"] == 0
    with pytest.raises(ValueError, match="0 seconds or more"):
        expiry_index("at", timedelta(seconds=-1))
