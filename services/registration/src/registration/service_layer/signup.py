"""Sign-up (step 1): a pending user, and an answer that tells nobody who is registered."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from secop_contracts import Event
from secop_runtime.aggregates import Duplicate
from secop_runtime.errors import Invalid

from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.user import User
from registration.domain.user_state import PENDING, UNIQUE_FIELDS
from registration.service_layer.context import Client, Context
from registration.service_layer.errors import Taken
from registration.service_layer.holders import holders, taken_field, tell_holder

SECRETS = ("password", "security_answer")


@dataclass(frozen=True)
class SignUp:
    """A sign-up form, already normalised by the HTTP model."""

    full_name: str
    country: str
    document_type: str
    document_number: str
    email: str
    username: str
    password: str
    security_question: str
    security_answer: str
    mobile_phone: str
    time_zone: str
    account_name: str

    def details(self) -> dict[str, str]:
        """Everything but the secrets (stored only hashed, never in an event)."""
        return {k: v for k, v in asdict(self).items() if k not in SECRETS}


async def register_user(s: Context, form: SignUp, client: Client) -> dict[str, str]:
    """Every sign-up that passes the checks of the form gets the same answer (201, pending),
    whether or not its email or document belongs to someone (only the username, which a
    person picks, answers 409): the holder of those is told by email instead, and the new
    sign-up can never be confirmed with them. An unconfirmed sign-up expires with its link,
    releasing its username."""
    now = s.now()
    await s.check_ip("signup", client, now)  # before any hashing
    problem = password_problem(form.password, s.policy, username=form.username, email=form.email)
    if problem:
        raise Invalid(problem, field="password")
    async with s.hasher.signup():  # 503 when sign-ups already fill their share of the pool
        password_hash, answer_hash = await asyncio.gather(
            s.hasher.hash(form.password),
            s.hasher.hash(identity.normalise_answer(form.security_answer)),
        )
    email_key = identity.email_key(form.email)
    document_key = identity.document_key(form.document_type, form.document_number)
    found = await holders(s.users, email_key, document_key)
    user_id = str(uuid.uuid4())
    user, payloads = User.sign_up(
        user_id,
        form.details(),
        hashes=(password_hash, answer_hash),
        now=now,
        link=s.link(now, s.settings.confirmation_ttl_s, user_id),
        email_held=any("email" in matched for _, matched in found),
    )
    await _add_pending(s, user, now, s.events(payloads))
    for holder, matched in found:  # only once the sign-up stands (a taken username told nobody)
        await tell_holder(s, holder, matched, now)
    return {"user_id": user.id, "username": user.username, "status": PENDING}


async def _add_pending(s: Context, user: User, now: datetime, events: list[Event]) -> None:
    """Store the sign-up. Its username may belong to a sign-up that expired unconfirmed: that
    one is removed (releasing the name) and the sign-up stored again; any other collision is
    :class:`Taken`. Maintenance removes the other expired ones."""
    keys = {key: getattr(user, key) for key in UNIQUE_FIELDS}
    for attempt in range(2):
        try:
            await s.users.add(user, *events)
            return
        except Duplicate:
            field = await taken_field(s.users, keys, user.id) or "username"
            released = field == "username" and not attempt
            if not (released and await s.users.expire_pending(now, username=user.username)):
                raise Taken(field) from None
