"""The service layer's use cases against the fakes (memory store, scripted SMTP relay): planning
deliveries for an event, sending them, retrying and giving up, the operator's retry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from notification.adapters.fakes import FakeDeliveryStore, FakeSmtpPool
from notification.adapters.smtp import SendFailed
from notification.config import Settings
from notification.domain.delivery import Delivery, NotRetryable
from notification.service_layer.context import renderer_for
from notification.service_layer.intake import accept_event
from notification.service_layer.operators import retry_delivery
from notification.service_layer.sender import Sender
from notification.service_layer.sending import Outbound
from secop_contracts.notification import EmailFailed, EmailSent
from secop_runtime.errors import NotFound
from secop_runtime.events import new_event
from secop_runtime.sealing import generate_keypair

from tests.unit.notification import samples

pytestmark = pytest.mark.unit

PRIVATE, PUBLIC = generate_keypair()
ADDRESS = "ana@example.co"


def a_minute_from_now() -> datetime:
    """The sender's time: a minute after the deliveries are queued (at the real time). Taken
    when the test starts, not when the module is imported: a whole suite may run in between."""
    return datetime.now(UTC) + timedelta(minutes=1)


@dataclass
class Clock:
    now: datetime = field(default_factory=a_minute_from_now)
    start: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    store: FakeDeliveryStore
    pool: FakeSmtpPool
    clock: Clock
    sender: Sender
    settings: Settings

    async def accept(self, event) -> list[Delivery]:
        created = await accept_event(self.store, event, self.settings.delivery_max_attempts)
        self.sender.wake(created)
        return created

    async def send_due(self) -> None:
        """One pass of the sender, and every attempt it started run to its end."""
        await self.sender.pass_once()
        await self.sender.settle()

    def events(self, kind: type) -> list:
        return [e for e in self.store.records.events if isinstance(e, kind)]

    async def only(self) -> Delivery:
        (d,) = self.store.all()
        return d


@pytest.fixture
def world() -> World:
    settings = Settings(
        seal_private_key=PRIVATE,
        operator_token="a-long-random-operator-token-0123456789",
        delivery_max_attempts=3,
        retry_backoff_base_s=10,
    )
    store, pool, clock = FakeDeliveryStore(), FakeSmtpPool(), Clock()
    out = Outbound(
        store,
        pool,
        renderer_for(settings),
        settings,
        lambda cls, payload: new_event(cls, "notification", payload),
        clock,
    )
    return World(store, pool, clock, Sender(out), settings)


async def test_an_event_plans_its_deliveries_once_however_often_it_arrives(world) -> None:
    events = samples.every_event(PUBLIC, ADDRESS)
    created = [d for e in events for d in await world.accept(e)]
    assert len(created) >= len(events) and all(d.version == 1 for d in created)
    for event in events:  # redelivered: the ids are taken
        assert await accept_event(world.store, event, 3) == []
    assert len(world.store.all()) == len(created)
    assert {d.state for d in world.store.all()} == {"queued"}


async def test_a_send_that_succeeds_is_stored_as_sent_with_its_event(world) -> None:
    await world.accept(samples.password_reset(PUBLIC, ADDRESS))
    await world.send_due()
    (message,) = world.pool.to(ADDRESS)
    assert "contraseña" in message["Subject"]
    d = await world.only()
    assert (d.state, d.attempts, d.sent_at) == ("sent", 1, world.clock.start)
    (sent,) = world.events(EmailSent)
    assert sent.payload.delivery_id == d.id and sent.payload.recipient_domain == "example.co"
    await world.send_due()  # nothing is due any more
    assert len(world.pool.sent) == 1


async def test_a_transient_failure_is_retried_after_its_back_off(world) -> None:
    world.pool.failures[ADDRESS].append(SendFailed("451 4.3.0 try later", permanent=False))
    await world.accept(samples.password_reset(PUBLIC, ADDRESS))
    await world.send_due()
    d = await world.only()
    assert (d.state, d.attempts) == ("retrying", 1)
    assert d.next_attempt_at == world.clock.start + timedelta(seconds=10)
    (failed,) = world.events(EmailFailed)
    assert not failed.payload.permanent and not failed.payload.abandoned

    world.sender.wake([d])
    await world.send_due()  # not due yet
    assert world.pool.sent == []
    world.clock.now = d.next_attempt_at
    world.sender.wake([d])
    await world.send_due()
    assert (await world.only()).state == "sent" and len(world.pool.to(ADDRESS)) == 1
    assert [e.payload.attempts for e in world.events(EmailSent)] == [2]


async def test_a_permanent_refusal_abandons_the_delivery_with_email_failed(world) -> None:
    refusal = SendFailed(f"recipient refused: 550 5.1.1 <{ADDRESS}>", permanent=True)
    world.pool.failures[ADDRESS].append(refusal)
    await world.accept(samples.password_reset(PUBLIC, ADDRESS))
    await world.send_due()
    d = await world.only()
    assert (d.state, d.attempts, d.permanent) == ("abandoned", 1, True)
    (failed,) = world.events(EmailFailed)
    p = failed.payload
    assert p.permanent and p.abandoned and p.next_attempt_at is None
    assert "550" in p.error and ADDRESS not in p.error
    assert world.pool.sent == []


async def test_an_smtp_outage_spends_no_attempt(world) -> None:
    world.pool.unavailable = True
    await world.accept(samples.password_reset(PUBLIC, ADDRESS))
    await world.send_due()
    d = await world.only()
    assert (d.state, d.attempts) == ("queued", 0)
    assert world.store.records.events == []


async def test_an_operator_retries_only_what_is_stuck(world) -> None:
    world.pool.failures[ADDRESS].append(SendFailed("550 no such user", permanent=True))
    await world.accept(samples.password_reset(PUBLIC, ADDRESS))
    await world.send_due()
    abandoned = await world.only()
    queued = await retry_delivery(world.store, abandoned.id, 3)
    assert (queued.state, queued.attempt_limit) == ("queued", 4)
    world.sender.wake([queued])
    await world.send_due()
    assert (await world.only()).state == "sent"
    with pytest.raises(NotRetryable) as refused:
        await retry_delivery(world.store, abandoned.id, 3)
    assert refused.value.status == 409
    with pytest.raises(NotFound, match="no such delivery"):
        await retry_delivery(world.store, "0" * 32, 3)


async def test_a_stale_view_never_sends_an_email_already_sent(world) -> None:
    (d,) = await world.accept(samples.password_reset(PUBLIC, ADDRESS))
    await world.send_due()
    world.sender.wake([d])  # the view from before the send (version 1), e.g. another scan's
    await world.send_due()
    assert len(world.pool.sent) == 1
