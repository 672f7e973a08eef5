"""Sign-up (step 1), confirmation by emailed link, and re-sending that link."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from secop_contracts.registration import (
    AccountChangeNotice,
    ConfirmationRequested,
    SignUpAttempted,
    UserConfirmed,
    UserProfileUpdated,
    UserRegistered,
)

from registration.adapters.users import ACTIVE, PENDING, Taken
from registration.domain import identity
from registration.domain.passwords import password_problem
from registration.domain.tokens import TokenProblem, check, issue, token_hash
from registration.service_layer.context import Client, Services
from registration.service_layer.errors import Invalid, TokenRefused

CONFIRM_FIELDS = ("confirm_hash", "confirm_expires_at", "confirm_kind", "confirm_email")
CLAIM_FIELDS = ("claim_email_key", "claim_document_key")
#: What a pending sign-up's unique email and document keys hold until it is confirmed.
UNCLAIMED = "unclaimed:"


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


async def register_user(s: Services, form: SignUp, client: Client) -> dict[str, Any]:
    """Step 1. Every sign-up that passes the checks of the form gets the same answer (201,
    pending), whether or not its email or document belongs to someone (only the username,
    which a person picks, answers 409): the holder of those is told by email instead, and the
    new sign-up can never be confirmed with them. Email and document are claimed here and held
    only from the confirmation on; an unconfirmed sign-up expires with its link, releasing its
    username."""
    now = s.now()
    await s.check_ip("signup", client, now)  # before any hashing
    problem = password_problem(form.password, s.policy, username=form.username, email=form.email)
    if problem:
        raise Invalid("password", problem)
    user_id = str(uuid.uuid4())
    fields = {k: v for k, v in asdict(form).items() if k not in ("password", "security_answer")}
    email_key = identity.email_key(form.email)
    document_key = identity.document_key(form.document_type, form.document_number)
    doc: dict[str, Any] = {
        "_id": user_id,
        **fields,
        # The unique keys hold placeholders until the confirmation claims the real ones.
        "email_key": f"{UNCLAIMED}{user_id}",
        "document_key": f"{UNCLAIMED}{user_id}",
        "claim_email_key": email_key,
        "claim_document_key": document_key,
        "status": PENDING,
        "roles": [],
        "registered_at": now,
    }
    async with s.hasher.signup():  # 503 when sign-ups already fill their share of the pool
        password_hash, answer_hash = await asyncio.gather(
            s.hasher.hash(form.password),
            s.hasher.hash(identity.normalise_answer(form.security_answer)),
        )
    token = issue(now, s.settings.confirmation_ttl_s)
    doc |= {"password_hash": password_hash, "security_answer_hash": answer_hash}
    holders = await s.users.holders(email_key, document_key)
    matched = {
        holder["_id"]: [
            field
            for field, key, mine in (
                ("email", "email_key", email_key),
                ("document_number", "document_key", document_key),
            )
            if holder.get(key) == mine
        ]
        for holder in holders
    }
    email_held = any("email" in fields for fields in matched.values())
    events: list[Any] = []
    if email_held:
        # The address is a confirmed user's: a link there could only fail. The holder gets the
        # notice; this sign-up keeps its username until it expires, like any other.
        doc |= {"confirm_kind": "held", "pending_until": token.expires_at}
    else:
        doc |= {
            "confirm_hash": token.hash,
            "confirm_expires_at": token.expires_at,
            "confirm_kind": "signup",
            "pending_until": token.expires_at,
        }
        events.append(
            s.event(
                UserRegistered,
                {
                    **fields,
                    "user_id": user_id,
                    "sealed_confirmation_token": s.seal(token.plain),
                    "confirmation_expires_at": token.expires_at,
                    "registered_at": now,
                },
            ),
        )
    await s.users.insert_pending(doc, now, *events)
    for holder in holders:  # only once the sign-up stands (a taken username told nobody)
        await tell_holder(s, holder, matched[holder["_id"]], now)
    return {"user_id": user_id, "username": form.username, "status": PENDING}


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


REVERT_FIELDS = ("revert_hash", "revert_expires_at", "revert_email", "revert_sealed")


@dataclass(frozen=True)
class RevertLink:
    """A link that puts back the address an account had before its first email change in
    the link's life (7 days) and ends every session. Kept sealed on the user (only
    notification can open it), and never replaced while it lives: whoever moves the address
    again cannot take the original owner's way back."""

    sealed: str
    expires_at: datetime
    email: str
    fields: dict[str, Any]


def revert_link(s: Services, user: dict[str, Any], now: datetime) -> RevertLink:
    """The user's live revert link, or a new one for their current address."""
    expires = user.get("revert_expires_at")
    if user.get("revert_sealed") and expires is not None and check(expires, now) is None:
        return RevertLink(user["revert_sealed"], expires, user["revert_email"], {})
    token = issue(now, s.settings.email_revert_ttl_s)
    sealed = s.seal(token.plain)
    fields = {
        "revert_hash": token.hash,
        "revert_expires_at": token.expires_at,
        "revert_email": user["email"],
        "revert_sealed": sealed,
    }
    return RevertLink(sealed, token.expires_at, user["email"], fields)


def change_notice(
    s: Services,
    user: dict[str, Any],
    change: str,
    now: datetime,
    *,
    new_email: str | None = None,
    previous_username: str | None = None,
    revert: RevertLink | None = None,
) -> AccountChangeNotice:
    """The owner's notice of a change, addressed to ``user["email"]``."""
    return s.event(
        AccountChangeNotice,
        {
            **person(user),
            "change": change,
            "new_email_hint": identity.email_hint(new_email) if new_email else None,
            "previous_username": previous_username,
            "sealed_revert_token": revert.sealed if revert else None,
            "revert_expires_at": revert.expires_at if revert else None,
            "restores_email_hint": identity.email_hint(revert.email) if revert else None,
            "changed_at": now,
        },
    )


def notices(
    s: Services,
    user: dict[str, Any],
    change: str,
    now: datetime,
    new_email: str,
    revert: RevertLink,
) -> list[AccountChangeNotice]:
    """An email change told to the address the account had until now and, if the live link
    restores an older one, to that address too (it holds the way back)."""
    told = [change_notice(s, user, change, now, new_email=new_email, revert=revert)]
    if identity.email_key(revert.email) != identity.email_key(user["email"]):
        older = {**user, "email": revert.email}
        told.append(change_notice(s, older, change, now, new_email=new_email, revert=revert))
    return told


async def tell_holder(
    s: Services, holder: dict[str, Any], matched: list[str], now: datetime
) -> None:
    """Someone tried to use a confirmed user's email or document: tell them (at most one
    notice a minute, five an hour)."""
    if await s.may_email(holder["_id"], "sign_up_attempt", now):
        event = s.event(
            SignUpAttempted, {**person(holder), "matched": matched, "attempted_at": now}
        )
        await s.users.update(holder["_id"], {"$set": {"last_attempt_noticed_at": now}}, event)


def _claims(user: dict[str, Any]) -> dict[str, str]:
    """The unique keys a confirmation makes this user's: a sign-up's email and document, or
    an email change's new address."""
    if user.get("confirm_kind") == "email_change":
        return {"email_key": identity.email_key(user["confirm_email"])}
    if user["status"] != PENDING:
        return {}
    return {
        key: user[claim]
        for key, claim in (("email_key", "claim_email_key"), ("document_key", "claim_document_key"))
        if user.get(claim)  # sign-ups older than claims already hold theirs
    }


async def confirm(s: Services, token: str) -> str:
    user = await spend_link(s, "confirm_hash", token)
    now = s.now()
    claims = _claims(user)
    if claims:  # a polite check before spending the link; the unique indexes decide below
        taken = await s.users.taken_field(claims, user["_id"])
        if taken:
            raise Taken(taken)
    if not await s.used_tokens.spend(user["confirm_hash"], user["_id"], now):
        raise TokenRefused(TokenProblem.USED)
    update: dict[str, Any] = {"$unset": dict.fromkeys(CONFIRM_FIELDS, "")}
    events: list[Any] = []
    if user.get("confirm_kind") == "email_change":
        email = user["confirm_email"]
        revert = revert_link(s, user, now)
        update["$set"] = {"email": email, "email_key": identity.email_key(email), **revert.fields}
        update["$unset"]["pending_email"] = ""
        after = {**user, "email": email}
        # The address it had before hears of it, with the link that puts it back.
        events += notices(s, user, "email_changed", now, email, revert)
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
        # Email and document become this user's now (a collision raises Taken: 409).
        update["$set"] = {"status": ACTIVE, "confirmed_at": now, **claims}
        update["$unset"] |= dict.fromkeys((*CLAIM_FIELDS, "pending_until"), "")
        events.append(s.event(UserConfirmed, {**person(user), "confirmed_at": now}))
    await s.users.update(
        user["_id"], update, *events, only_if={"confirm_hash": user["confirm_hash"]}
    )
    return ACTIVE


async def resend_confirmation(s: Services, username_or_email: str) -> None:
    """A fresh link for each pending sign-up that matches (the older links stop working);
    silent otherwise. By email, every pending sign-up of that address gets its own, naming
    its username: one of them may be a stranger's, and the person must see which is theirs."""
    value = username_or_email.strip()
    if "@" in value:  # a pending sign-up claims its address (older ones hold it)
        key = identity.email_key(value)
        users = await s.users.find_many(limit=5, claim_email_key=key, status=PENDING)
        users += await s.users.find_many(limit=1, email_key=key, status=PENDING)
    else:
        users = await s.users.find_many(limit=1, username=value.lower(), status=PENDING)
    now = s.now()
    for user in users:
        if user.get("confirm_kind") == "signup" and await s.may_email(
            user["_id"], "confirmation", now
        ):
            await _resend(s, user, now)


async def _resend(s: Services, user: dict[str, Any], now: datetime) -> None:
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
            "pending_until": token.expires_at,
        }
    }
    await s.users.update(user["_id"], update, event)
