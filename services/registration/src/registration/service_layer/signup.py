"""Sign-up (step 1), confirmation by emailed link, and re-sending that link."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from secop_contracts.registration import (
    ConfirmationRequested,
    UserConfirmed,
    UserProfileUpdated,
    UserRegistered,
)

from registration.adapters.users import Taken
from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.tokens import TokenProblem, check, issue, token_hash
from registration.service_layer.context import Services
from registration.service_layer.errors import Invalid, TokenRefused

PENDING = "pending_confirmation"
ACTIVE = "active"
CONFIRM_FIELDS = ("confirm_hash", "confirm_expires_at", "confirm_kind", "confirm_email")


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


def person(user: dict[str, Any]) -> dict[str, Any]:
    """How events name a user (never a secret)."""
    return {
        "user_id": user["_id"],
        "username": user["username"],
        "full_name": user["full_name"],
        "email": user["email"],
        "time_zone": user["time_zone"],
    }


async def register_user(s: Services, form: SignUp) -> dict[str, Any]:
    problem = password_problem(form.password, s.policy, username=form.username, email=form.email)
    if problem:
        raise Invalid("password", problem)
    now = s.now()
    fields = {k: v for k, v in asdict(form).items() if k not in ("password", "security_answer")}
    doc: dict[str, Any] = {
        "_id": str(uuid.uuid4()),
        **fields,
        "email_key": identity.email_key(form.email),
        "document_key": identity.document_key(form.document_type, form.document_number),
        "status": PENDING,
        "roles": [],
        "registered_at": now,
    }
    # No look-up before hashing: the unique indexes decide (and the collision names the field);
    # on FerretDB each look-up by username, email or document would read every user.
    password_hash, answer_hash = await asyncio.gather(
        s.hasher.hash(form.password),
        s.hasher.hash(identity.normalise_answer(form.security_answer)),
    )
    token = issue(now, s.settings.confirmation_ttl_s)
    doc |= {
        "password_hash": password_hash,
        "security_answer_hash": answer_hash,
        "confirm_hash": token.hash,
        "confirm_expires_at": token.expires_at,
        "confirm_kind": "signup",
    }
    event = s.event(
        UserRegistered,
        {
            **fields,
            "user_id": doc["_id"],
            "sealed_confirmation_token": s.seal(token.plain),
            "confirmation_expires_at": token.expires_at,
            "registered_at": now,
        },
    )
    await s.users.insert(doc, event)
    s.runtime.kick()
    return {"user_id": doc["_id"], "username": form.username, "status": PENDING}


async def spend_link(s: Services, hash_field: str, token: str) -> dict[str, Any]:
    """The user a link belongs to, once the link is checked and spent (single use)."""
    digest = token_hash(token)
    user = await s.users.find_one(**{hash_field: digest})
    if user is None:
        spent = await s.used_tokens.was_spent(digest)
        raise TokenRefused(TokenProblem.USED if spent else TokenProblem.UNKNOWN)
    expiry_field = hash_field.replace("_hash", "_expires_at")
    problem = check(user.get(expiry_field), s.now())
    if problem:
        raise TokenRefused(problem)
    return user


async def confirm(s: Services, token: str) -> str:
    user = await spend_link(s, "confirm_hash", token)
    now = s.now()
    if user.get("confirm_kind") == "email_change":
        taken = await s.users.taken_field(
            {"email_key": identity.email_key(user["confirm_email"])}, user["_id"]
        )
        if taken:
            raise Taken(taken)
    if not await s.used_tokens.spend(user["confirm_hash"], user["_id"], now):
        raise TokenRefused(TokenProblem.USED)
    update: dict[str, Any] = {"$unset": dict.fromkeys(CONFIRM_FIELDS, "")}
    events: list[Any] = []
    if user.get("confirm_kind") == "email_change":
        email = user["confirm_email"]
        update["$set"] = {"email": email, "email_key": identity.email_key(email)}
        update["$unset"]["pending_email"] = ""
        after = {**user, "email": email}
        events.append(
            s.event(
                UserProfileUpdated,
                {
                    **person(after),
                    "changed_fields": ["email"],
                    "mobile_phone": user["mobile_phone"],
                    "updated_at": now,
                },
            )
        )
        events.append(s.event(UserConfirmed, {**person(after), "confirmed_at": now}))
    elif user["status"] == PENDING:
        update["$set"] = {"status": ACTIVE, "confirmed_at": now}
        events.append(s.event(UserConfirmed, {**person(user), "confirmed_at": now}))
    await s.users.update(
        user["_id"], update, *events, only_if={"confirm_hash": user["confirm_hash"]}
    )
    s.runtime.kick()
    return ACTIVE


async def resend_confirmation(s: Services, username_or_email: str) -> None:
    """A fresh link for a pending user (the older ones stop working); silent otherwise."""
    value = username_or_email.strip()
    query = (
        {"email_key": identity.email_key(value)} if "@" in value else {"username": value.lower()}
    )
    user = await s.users.find_one(**query)
    now = s.now()
    if user is None or user["status"] != PENDING or user.get("confirm_kind") == "email_change":
        return
    if not await s.may_email(user["_id"], "confirmation", now):
        return
    token = issue(now, s.settings.confirmation_ttl_s)
    event = s.event(
        ConfirmationRequested,
        {
            **person(user),
            "account_name": user.get("account_name", ""),
            "reason": "resend",
            "sealed_confirmation_token": s.seal(token.plain),
            "expires_at": token.expires_at,
        },
    )
    update = {
        "$set": {
            "confirm_hash": token.hash,
            "confirm_expires_at": token.expires_at,
            "confirm_kind": "signup",
        }
    }
    await s.users.update(user["_id"], update, event)
    s.runtime.kick()
