"""The replay command's decisions, without a broker: its arguments, which topic a name means,
what it refuses, and how it remembers what went. ``tests/integration/test_replay.py`` replays on
the real broker."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from secop_contracts.registration import UserRegistered
from secop_runtime.replay import (
    DeadLetter,
    Original,
    Progress,
    Selection,
    _replay_headers,
    main,
    plan,
    progress_group,
    refusal,
    resolve,
)
from secop_runtime.settings import ServiceSettings

from tests.support.events import user_registered

pytestmark = pytest.mark.unit

#: Nothing listens here: a command that tried to connect would fail differently (or hang).
OFFLINE = ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1", kafka_topic_prefix="p.")


def letter(value: bytes, offset: int = 0, group: str = "p.membership") -> DeadLetter:
    """A service's dead letter of the record at UserRegistered 2@(40 + offset)."""
    headers = (
        ("dlt-consumer-group", group.encode()),
        ("dlt-original-topic", b"p.UserRegistered"),
        ("dlt-original-partition", b"2"),
        ("dlt-original-offset", str(40 + offset).encode()),
    )
    return DeadLetter(partition=0, offset=offset, key=b"k", value=value, headers=headers)


def original(of: DeadLetter, value: bytes | None = None) -> Original:
    """The record ``of`` came from on the event topic (``value``: another one there)."""
    return Original(2, 40 + of.offset, of.key, of.value if value is None else value)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["replay"],  # no topic
        ["replay", "UserRegistered", "--topic", "UserRegistered"],  # twice
        ["list"],
        ["replay", "--topic", "UserRegistered", "--event-id", "not-a-uuid"],
        ["replay", "--topic", "UserRegistered", "--from-offset", "-3"],
        ["replay", "--topic", "UserRegistered", "--from-offset", "9", "--to-offset", "2"],
        ["replay", "--topic", "NoSuchEvent"],
        ["list", "NoSuchEvent.DLT"],
        ["replay", "--topic", "UserRegistered", "--shred"],
        ["forget", "--topic", "UserRegistered"],
    ],
)
def test_bad_arguments_exit_with_2_before_any_connection(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    assert main(argv, OFFLINE, out) == 2
    assert out.getvalue() == ""  # nothing listed, nothing replayed
    assert capsys.readouterr().err  # and the reason is said


def test_an_unknown_topic_is_named_in_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--topic", "UserRegisterd"], OFFLINE, io.StringIO()) == 2
    assert "unknown topic 'UserRegisterd'" in capsys.readouterr().err


def test_help_exits_with_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--help"], OFFLINE, io.StringIO()) == 0
    assert "--dry-run" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name", ["UserRegistered", "UserRegistered.DLT", "p.UserRegistered", "p.UserRegistered.dlt"]
)
def test_a_topic_may_be_named_with_or_without_its_prefix_and_dlt_suffix(name: str) -> None:
    target = resolve(name, "p.")
    assert (target.topic, target.dlt) == ("p.UserRegistered", "p.UserRegistered.DLT")
    assert target.event_type is UserRegistered


def test_the_projectors_dead_letters_go_back_to_the_event_topic() -> None:
    target = resolve("analytics.UserRegistered.DLT", "p.")
    assert (target.topic, target.dlt) == ("p.UserRegistered", "p.analytics.UserRegistered.DLT")
    headerless = DeadLetter(0, 0, None, b"{}", default_group=target.default_group)
    assert headerless.group == "p.projector"
    assert progress_group(target, headerless.group, "p.") == (
        "p.secop-replay.analytics.UserRegistered.projector"
    )


def test_progress_is_kept_per_topic_and_dead_lettering_group() -> None:
    target = resolve("UserRegistered", "p.")
    assert progress_group(target, "p.membership", "p.") == (
        "p.secop-replay.UserRegistered.membership"
    )


def test_a_well_formed_event_of_its_owner_may_go() -> None:
    target = resolve("UserRegistered", "p.")
    parked = letter(user_registered().to_json())
    assert refusal(parked, target, OFFLINE, original(parked)) is None


def test_a_dead_letter_that_is_not_the_record_it_names_is_refused() -> None:
    """Every consumer of a topic may write its dead-letter topic: a consumer (here membership,
    which reads UserRegistered) could park a well-formed event "of registration" that
    registration never published, and the admin's replay would publish it as registration's."""
    target = resolve("UserRegistered", "p.")
    forged = letter(user_registered().to_json())  # producer 'registration', as the owner's
    genuine = original(forged, value=user_registered().to_json())
    reason = refusal(forged, target, OFFLINE, genuine)
    assert reason is not None and "not the record at 2@40 on p.UserRegistered" in reason
    assert "no record at 2@40" in (refusal(forged, target, OFFLINE, None) or "")
    decided = plan([forged], {}, target, OFFLINE, False, {(0, 0): genuine})
    assert decided.send == [] and len(decided.refused) == 1


def test_the_projectors_dead_letter_goes_only_as_a_record_of_the_event_topic() -> None:
    """The projector may write every ``analytics.<Event>.DLT`` (its dead letters name no
    origin): what it parked goes back only if the event topic holds the same record."""
    target = resolve("analytics.UserRegistered", "p.")
    parked = DeadLetter(0, 0, b"k", user_registered().to_json(), default_group="p.projector")
    reason = refusal(parked, target, OFFLINE, None)
    assert reason is not None and "no record with its key and value on p.UserRegistered" in reason
    found = Original(1, 7, parked.key, parked.value)
    assert refusal(parked, target, OFFLINE, found) is None


def test_a_replay_carries_the_originals_headers_not_the_dead_letters() -> None:
    target = resolve("UserRegistered", "p.")
    parked = letter(user_registered().to_json())
    parked = DeadLetter(
        0, 0, parked.key, parked.value, (*parked.headers, ("traceparent", b"00-consumer-wrote"))
    )
    genuine = Original(2, 40, parked.key, parked.value, (("traceparent", b"00-owner-wrote"),))
    headers = dict(_replay_headers(parked, target, "now", genuine))
    assert headers["traceparent"] == b"00-owner-wrote"
    assert headers["replay-of"] == b"p.UserRegistered.DLT:0:0"
    assert not any(name.startswith("dlt-") for name in headers)
    # Forced without an original (or unlike it): the dead letter's own, as before.
    assert dict(_replay_headers(parked, target, "now", None))["traceparent"] == (
        b"00-consumer-wrote"
    )


def test_a_forged_producer_is_refused_because_it_would_be_dead_lettered_again() -> None:
    target = resolve("UserRegistered", "p.")
    forged = letter(user_registered(producer="notification").to_json())
    reason = refusal(forged, target, OFFLINE, original(forged))
    assert reason is not None
    assert "forged" in reason and "'notification' is not registration" in reason
    assert "would be again" in reason


def test_what_the_consumers_would_park_again_is_refused() -> None:
    target = resolve("UserRegistered", "p.")
    ahead = datetime.now(UTC) + timedelta(days=1)
    future = user_registered().model_copy(update={"occurred_at": ahead})
    for value in (b"\x00 not json", b'{"event_type": "UserConfirmed"}', future.to_json()):
        parked = letter(value)
        reason = refusal(parked, target, OFFLINE, original(parked))
        assert reason is not None and "again" in reason
    elsewhere = DeadLetter(0, 0, None, user_registered().to_json(), (("dlt-original-topic", b"x"),))
    assert "came from 'x'" in (refusal(elsewhere, target, OFFLINE, None) or "")


def test_an_event_older_than_the_dedupe_window_is_refused() -> None:
    target = resolve("UserRegistered", "p.")
    old = user_registered().model_copy(
        update={"occurred_at": datetime.now(UTC) - timedelta(days=31)}
    )
    parked = letter(old.to_json())
    reason = refusal(parked, target, OFFLINE, original(parked))
    assert reason is not None and "PROCESSED_EVENTS_RETENTION_DAYS (30)" in reason


def test_a_listing_shows_the_envelope_never_the_payload() -> None:
    event = user_registered()
    shown = letter(event.to_json()).envelope()
    assert shown["event_id"] == str(event.event_id)
    assert shown["event_type"] == "UserRegistered" and shown["producer"] == "registration"
    assert "ana@example.co" not in json.dumps(shown) and "Ana" not in json.dumps(shown)
    assert letter(b"\x00 not json").envelope()["event_id"] == "-"
    hostile = letter(json.dumps({"event_type": "x\x1b[2Jy" + "z" * 500}).encode()).envelope()
    assert "\x1b" not in hostile["event_type"] and len(hostile["event_type"]) <= 64


def test_a_group_is_selected_by_its_service_name_or_its_full_name() -> None:
    membership = letter(b"{}", group="p.membership")
    assert Selection(groups=("membership",)).matches(membership, "p.")
    assert Selection(groups=("p.membership",)).matches(membership, "p.")
    assert not Selection(groups=("notification",)).matches(membership, "p.")
    assert not Selection(from_offset=1).matches(membership, "p.")
    assert Selection(to_offset=0).matches(membership, "p.")


def test_progress_moves_past_everything_replayed_and_other_groups_letters() -> None:
    # This group's letters at 2, 5, 9 (others between them): all replayed.
    assert Progress().after([2, 5, 9], [2, 5, 9]) == Progress(10)
    # Replayed later, a gap before: 5 and 9 remembered beyond the gap at 2, as one range.
    gap = Progress().after([5, 9], [2, 5, 9])
    assert gap == Progress(2, ((5, 9),))
    assert [gap.covers(o) for o in (2, 5, 9)] == [False, True, True]
    assert Progress.read(gap.below, gap.metadata()) == gap  # the commit's round trip
    assert gap.after([2], [2, 5, 9]) == Progress(10)  # the gap filled
    # A gap between two replayed runs stays a gap.
    assert Progress().after([2, 9], [2, 5, 9]) == Progress(5, ((9, 9),))


def test_a_missing_or_odd_commit_means_nothing_replayed_yet() -> None:
    assert Progress.read(-1001, None) == Progress()
    assert Progress.read(7, "garbage,3-x") == Progress(7)


def test_progress_keeps_the_ranges_the_broker_can_hold() -> None:
    many = Progress(0, tuple((i * 10, i * 10 + 1) for i in range(1, 2000)))
    kept = many.fitting(4000)
    assert len(kept.metadata()) <= 4000 and kept.ranges == many.ranges[: len(kept.ranges)]


def test_a_settings_error_is_said_without_the_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_PASSWORD", "s3cret-value")
    assert main(["list", "UserRegistered"], None, io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "needs KAFKA_USERNAME and KAFKA_PASSWORD" in err and "s3cret-value" not in err
