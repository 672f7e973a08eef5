"""In-memory twins of the adapters, for the service-layer unit tier (no database, no argon2).

Each keeps its adapter's contract as the use cases rely on it: the users are the runtime's
``MemoryStore`` (versions, unique keys, events per write); a link is spent once; a login lease
is held by one check at a time; an email slot is taken once.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from secop_contracts import Event
from secop_runtime.aggregates import MemoryStore

from registration.adapters.guards import LoginBusy, Sent
from registration.adapters.requests import LEASE_S
from registration.domain import throttling
from registration.domain.user import User
from registration.domain.user_state import UNIQUE_FIELDS


class Indexed:
    async def create_indexes(self) -> None:
        """Nothing to create in memory."""


class FakeUsers(MemoryStore[User], Indexed):
    def __init__(self) -> None:
        super().__init__(User, unique=tuple(UNIQUE_FIELDS))

    async def expire_pending(self, now: datetime, **equals: Any) -> int:
        gone = [u.id for u in await self.find(limit=10**6, **equals) if u.expired(now)]
        for user_id in gone:
            del self.documents[user_id]
        return len(gone)


class FakeHistory(Indexed):
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    async def record(
        self, user_id: str, kind: str, at: datetime, ip: str | None, user_agent: str | None
    ) -> None:
        self.items.append(
            {"user_id": user_id, "kind": kind, "at": at, "ip": ip, "user_agent": user_agent}
        )

    async def prune(self, before: datetime) -> int:
        kept = [i for i in self.items if i["at"] >= before]
        gone, self.items = len(self.items) - len(kept), kept
        return gone

    async def page(self, user_id: str, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
        mine = [i for i in reversed(self.items) if i["user_id"] == user_id]
        return mine[(page - 1) * size : page * size], len(mine)


class FakeSessions(Indexed):
    """Each session is its login's record in the history it shares (``SessionStore``)."""

    def __init__(self, history: FakeHistory) -> None:
        self.history = history
        self.sessions: dict[str, dict[str, Any]] = {}
        self.events: list[Event] = []

    async def open(
        self,
        sid: str,
        user_id: str,
        issued_at: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
        *events: Event,
    ) -> None:
        await self.history.record(user_id, "login", issued_at, ip, user_agent)
        self.sessions[sid] = {
            **self.history.items[-1],
            "_id": sid,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "ended_at": None,
        }
        self.events.extend(events)

    async def get(self, sid: str) -> dict[str, Any] | None:
        return self.sessions.get(sid)

    async def prune(self, expired_before: datetime) -> int:
        """Sessions go with their history records (``FakeHistory.prune``)."""
        return 0

    async def end(self, sid: str, now: datetime, *events: Event) -> bool:
        session = self.sessions.get(sid)
        if session is None or session["ended_at"] is not None:
            return False
        session["ended_at"] = now
        self.events.extend(events)
        return True


class FakeGuards(Indexed):
    """Failures per (subject, client) with a lease, and per subject (``LoginGuards``)."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], dict[str, Any]] = {}
        self.subjects: Counter[str] = Counter()

    async def begin(
        self, subject: str, client: str, now: datetime, lease_s: float
    ) -> throttling.Failures:
        pair = self.pairs.setdefault((subject, client), {"failures": 0, "last_failure_at": None})
        if pair.get("lease_until") and pair["lease_until"] > now:
            raise LoginBusy
        pair["lease_until"] = now + timedelta(seconds=lease_s)
        return throttling.Failures(
            pair["failures"], pair["last_failure_at"], self.subjects[subject]
        )

    async def failed(
        self, subject: str, client: str, now: datetime, *, restart: bool = False
    ) -> tuple[int, int]:
        pair = self.pairs.setdefault((subject, client), {"failures": 0})
        pair.update(failures=1 if restart else pair["failures"] + 1, last_failure_at=now)
        pair["lease_until"] = None
        self.subjects[subject] += 1
        return pair["failures"], self.subjects[subject]

    async def noted(self, subject: str, now: datetime) -> None:
        """Nothing to note in memory."""

    async def release(self, subject: str, client: str, *, had_failures: bool) -> None:
        if not had_failures:
            self.pairs.pop((subject, client), None)
        elif (subject, client) in self.pairs:
            self.pairs[(subject, client)]["lease_until"] = None

    async def succeeded(self, subject: str, client: str, run_across_clients: bool) -> None:
        self.pairs.pop((subject, client), None)
        if run_across_clients:
            self.subjects.pop(subject, None)

    async def clear(self, subject: str) -> None:
        self.pairs = {k: v for k, v in self.pairs.items() if k[0] != subject}
        self.subjects.pop(subject, None)

    async def forget_stale(self, now: datetime) -> None:
        """Kept whole in memory: unit tests run within the hour."""


class FakeIpLimiter(Indexed):
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()

    async def hit(self, scope: str, ip: str, window: int, window_s: int) -> int:
        self.hits[f"{scope}:{ip}:{window}"] += 1
        return self.hits[f"{scope}:{ip}:{window}"]


class FakeEmailSends(Indexed):
    """Send times per user and kind, claimed against the ``last`` read (``EmailSends``)."""

    def __init__(self) -> None:
        self.sent: dict[str, Sent] = {}

    async def recent(self, user_id: str, kind: str) -> Sent:
        return self.sent.get(f"{kind}:{user_id}", Sent())

    async def claim(self, user_id: str, kind: str, now: datetime, seen: Sent, keep_s: int) -> bool:
        key = f"{kind}:{user_id}"
        if self.sent.get(key, Sent()).last != seen.last:
            return False
        kept = [t for t in seen.times if (now - t).total_seconds() < keep_s]
        self.sent[key] = Sent([*kept, now], now)
        return True

    async def prune(self, before: datetime) -> int:
        gone = [k for k, v in self.sent.items() if v.last is not None and v.last < before]
        for key in gone:
            del self.sent[key]
        return len(gone)


class FakeUsedTokens(Indexed):
    def __init__(self) -> None:
        self.spent: dict[str, dict[str, Any]] = {}

    async def spend(self, token_hash: str, user_id: str, now: datetime) -> bool:
        if token_hash in self.spent:
            return False
        self.spent[token_hash] = {"_id": token_hash, "user_id": user_id, "at": now}
        return True

    async def was_spent(self, token_hash: str) -> dict[str, Any] | None:
        return self.spent.get(token_hash)

    async def prune(self, before: datetime) -> int:
        old = [k for k, v in self.spent.items() if v["at"] < before]
        for key in old:
            del self.spent[key]
        return len(old)


class FakeRequests(Indexed):
    def __init__(self) -> None:
        self.waiting: dict[str, dict[str, Any]] = {}
        self.set_aside_ones: list[dict[str, Any]] = []

    async def add(self, kind: str, fields: dict[str, Any], now: datetime) -> None:
        request_id = uuid.uuid4().hex
        self.waiting[request_id] = {"_id": request_id, "kind": kind, **fields, "at": now}
        self.waiting[request_id] |= {"lease_until": now, "tries": 0}

    async def take(self, owner: str, now: datetime) -> dict[str, Any] | None:
        free = [r for r in self.waiting.values() if r["lease_until"] <= now]
        if not free:
            return None
        request = min(free, key=lambda r: r["lease_until"])
        request["tries"] += 1
        lease = LEASE_S * 2 ** min(request["tries"] - 1, 10)
        request |= {"owner": owner, "lease_until": now + timedelta(seconds=lease)}
        return dict(request)

    async def done(self, request_id: str) -> None:
        self.waiting.pop(request_id, None)

    async def set_aside(self, request: dict[str, Any], now: datetime) -> None:
        self.set_aside_ones.append({**request, "set_aside_at": now})
        await self.done(request["_id"])


class FakeHasher:
    """Reversible stand-in for argon2: tests need the logic, not the cost."""

    async def hash(self, secret: str) -> str:
        return f"fake${secret}"

    async def verify(self, stored: str | None, secret: str) -> bool:
        return stored is not None and stored == f"fake${secret}"

    def needs_rehash(self, stored: str) -> bool:
        return False

    @contextlib.asynccontextmanager
    async def signup(self) -> AsyncIterator[None]:
        yield

    def close(self) -> None:
        """No threads to end."""


class FakeFacts:
    """The standalone outbox (analytics facts), as a list."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, *events: Event) -> None:
        self.events.extend(events)


def fake_adapters() -> dict[str, Any]:
    """One fresh fake per adapter the context holds, by the context's field names."""
    history = FakeHistory()
    return {
        "users": FakeUsers(),
        "sessions": FakeSessions(history),
        "history": history,
        "guards": FakeGuards(),
        "sends": FakeEmailSends(),
        "used_tokens": FakeUsedTokens(),
        "requests": FakeRequests(),
        "ip_hits": FakeIpLimiter(),
    }
