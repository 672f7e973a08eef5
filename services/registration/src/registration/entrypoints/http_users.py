"""Sign-up, confirmation, and the signed-in user's own data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from secop_runtime.errors import Invalid

from registration.entrypoints import schemas as m
from registration.entrypoints.deps import Caller, Ctx, Me, must_match
from registration.service_layer import confirmation, email_revert, profile, recovery, signup

router = APIRouter(tags=["users"])

TAKEN = {409: {"description": "username, email or document already registered (field named)"}}
LINK = {
    400: {"description": "unknown, superseded or already used link"},
    410: {"description": "expired link"},
}


@router.post(
    "/users",
    status_code=201,
    response_model=m.SignedUpOut,
    responses={
        409: {"description": "username already registered (field named)"},
        429: {"description": "too many sign-ups from this address: see Retry-After"},
        503: {"description": "too many sign-ups being processed: see Retry-After"},
    },
    summary="Sign up (step 1): the user waits for email confirmation",
)
async def sign_up(body: m.SignUpIn, s: Ctx, caller: Caller) -> dict[str, str]:
    """Creates a user pending confirmation and emails a confirmation link (24 h).

    An email or document that belongs to a confirmed user gets this same answer: its holder is
    emailed instead, and this sign-up cannot be confirmed. Unconfirmed sign-ups expire with
    their link, releasing the username."""
    if not body.accept_terms:
        raise Invalid("you must accept the terms of use", field="accept_terms")
    must_match(body.password, body.password_confirmation, "password_confirmation")
    fields = body.model_dump(exclude={"password_confirmation", "accept_terms"})
    return await signup.register_user(s, signup.SignUp(**fields), caller)


@router.post(
    "/users/confirmation",
    response_model=m.StatusOut,
    responses={
        **LINK,
        409: {"description": "the email or document became another confirmed user's first"},
    },
    summary="Confirm the registration (or a new email) with the emailed token",
)
async def confirm(body: m.TokenIn, s: Ctx) -> dict[str, str]:
    """Single use. Following the emailed link (a GET of /ConfirmAccount) never consumes it."""
    return {"status": await confirmation.confirm(s, body.token)}


@router.post(
    "/users/confirmation/resend",
    status_code=202,
    response_model=m.Accepted,
    responses={429: {"description": "too many requests from this address: see Retry-After"}},
    summary="Email a new confirmation link",
)
async def resend(body: m.ResendIn, s: Ctx, caller: Caller) -> m.Accepted:
    """202 whether or not anyone matches. A new link invalidates older ones; at most one email
    per minute; per client address, `IP_LIMIT_PER_MINUTE` requests a minute (then 429)."""
    await recovery.ask(s, "resend", {"value": body.username_or_email}, caller)
    return m.Accepted(detail="if a pending registration matches, a new link was emailed")


@router.post(
    "/users/email/revert",
    status_code=204,
    responses={
        **LINK,
        409: {"description": "the old address became another confirmed user's meanwhile"},
    },
    summary="Undo an email change with the link sent to the old address",
)
async def revert_email(body: m.TokenIn, s: Ctx, caller: Caller) -> Response:
    """Single use. The account gets its old address back, a pending change is cancelled, and
    every session ends (`UserSessionsRevoked`, reason `email_reverted`)."""
    await email_revert.revert_email_change(s, body.token, caller)
    return Response(status_code=204)


@router.get("/users/me", response_model=m.ProfileOut, summary="My personal data")
async def me(who: Me) -> dict[str, object]:
    return profile.profile(who.user)


@router.patch("/users/me", status_code=204, responses=TAKEN, summary="Edit my personal data")
async def edit_me(body: m.ProfilePatch, who: Me, s: Ctx, caller: Caller) -> Response:
    """Only the fields sent change. A new email needs the current password and takes effect
    once confirmed by a link sent to it; the current address stays in use until then."""
    changes = body.model_dump(exclude_none=True)
    current_password = changes.pop("current_password", None)
    await profile.update_profile(s, who.user, changes, current_password, caller)
    return Response(status_code=204)


@router.put(
    "/users/me/password",
    status_code=204,
    responses={400: {"description": "wrong current password"}},
    summary="Change my password (ends every session)",
)
async def change_password(body: m.PasswordChangeIn, who: Me, s: Ctx, caller: Caller) -> Response:
    must_match(body.new_password, body.new_password_confirmation, "new_password_confirmation")
    await profile.change_password(s, who.user, body.current_password, body.new_password, caller)
    return Response(status_code=204)


@router.put("/users/me/username", status_code=204, responses=TAKEN, summary="Change my username")
async def change_username(body: m.UsernameChangeIn, who: Me, s: Ctx, caller: Caller) -> Response:
    await profile.change_username(s, who.user, body.current_password, body.new_username, caller)
    return Response(status_code=204)


@router.get(
    "/users/me/access-history",
    response_model=m.HistoryPage,
    summary="My logins, logouts and credential changes, newest first",
)
async def history(
    who: Me,
    s: Ctx,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, object]:
    """Paged with ``page`` (from 1) and ``size`` (1-100); ``total`` counts every entry."""
    items, total = await profile.access_history(s, who.user.id, page, size)
    return {"items": items, "page": page, "size": size, "total": total}
