"""Turning a delivery into the email a person reads: subject, plain text and HTML (es-CO).

Templates are Jinja2 files in ``notification/templates`` (HTML escaped automatically, text not);
each ``<name>.txt`` defines the subject block. A sealed token is opened here, at the last
moment, and exists only in the rendered message: never in the database, a log or an event.

A template sees its plan's data and the names the renderer adds (``RENDERER_NAMES``, the footer,
a link or secret). The two never share a name: a plan name the renderer would overwrite is
refused, so a template cannot show the renderer's value where it meant the plan's (the
case-opened email once showed its own subject as the case's "Asunto").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from secop_runtime.sealing import SealError, open_sealed

from notification.domain.delivery import Delivery

BOGOTA = "America/Bogota"
MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]


class RenderError(Exception):
    """This delivery can never be rendered (sealed token unreadable, unknown template)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def zone(name: str) -> timezone | ZoneInfo:
    try:
        return ZoneInfo(name or BOGOTA)
    except (ZoneInfoNotFoundError, ValueError):
        try:
            return ZoneInfo(BOGOTA)
        except ZoneInfoNotFoundError:  # no tz database at all: Bogotá has no DST
            return timezone(timedelta(hours=-5))


def format_local(value: datetime, tz_name: str) -> str:
    """``martes 3 de marzo de 2026, 2:05 p. m. (UTC-05:00)`` in the recipient's zone."""
    local = value.astimezone(zone(tz_name))
    hour = local.hour % 12 or 12
    meridiem = "a. m." if local.hour < 12 else "p. m."
    offset = local.strftime("%z")
    return (
        f"{WEEKDAYS[local.weekday()]} {local.day} de {MONTHS[local.month - 1]} de {local.year}, "
        f"{hour}:{local.minute:02d} {meridiem} (UTC{offset[:3]}:{offset[3:]})"
    )


@pass_context
def _fecha(ctx: Context, value: datetime | None) -> str:
    if value is None:
        return ""
    return format_local(value, ctx.get("time_zone") or BOGOTA)


def confirmation_link(base: str, token: str, ctx: dict[str, Any]) -> str:
    query = urlencode({"ConfirmationGuid": token, "CompanyName": ctx.get("account_name", "")})
    return f"{base}/ConfirmAccount?{query}"


def reset_link(base: str, token: str, ctx: dict[str, Any]) -> str:
    return f"{base}/ChangePassword?{urlencode({'token': token})}"


def revert_link(base: str, token: str, ctx: dict[str, Any]) -> str:
    return f"{base}/RevertEmail?{urlencode({'token': token})}"


def invitation_link(base: str, token: str, ctx: dict[str, Any]) -> str:
    return f"{base}/AcceptInvitation?{urlencode({'token': token})}"


def case_link(base: str, key: str, ctx: dict[str, Any]) -> str:
    """The portal's page that keeps the key in the session and asks only for the email."""
    query = urlencode({"caso": ctx["case_number"], "clave": key})
    return f"{base}/casos/seguimiento/enlace?{query}"


#: Templates that show a sealed secret as text (the context name it takes). The plan may hold
#: the name only as an empty slot: the renderer fills it, with "" when the event had no secret.
#: One also in ``LINKS`` gets its link only with the secret (else ``link`` is "").
SECRETS: dict[str, str] = {"case_opened": "access_key"}

#: The email's own subject in the template context (the HTML ``<title>``). Not ``subject``:
#: plans use that for the case's subject.
EMAIL_SUBJECT = "email_subject"

#: Names the renderer sets in every context besides the footer's; no plan may use one.
RENDERER_NAMES = frozenset({EMAIL_SUBJECT, "time_zone", "base_url", "link"})

LINKS: dict[str, Callable[[str, str, dict[str, Any]], str]] = {
    "email_change_requested": revert_link,
    "email_changed": revert_link,
    "account_confirmation": confirmation_link,
    "email_change_confirmation": confirmation_link,
    "password_reset": reset_link,
    "account_locked": reset_link,
    "password_after_revert": reset_link,
    "member_invited": invitation_link,
    "case_opened": case_link,
}


class Renderer:
    def __init__(
        self,
        *,
        public_base_url: str,
        seal_private_key: str,
        footer: dict[str, str],
        previous_seal_keys: Sequence[str] = (),
    ) -> None:
        self._base = public_base_url.rstrip("/")
        self._keys = (seal_private_key, *previous_seal_keys)
        self._footer = footer
        self._env = Environment(
            loader=PackageLoader("notification", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=False,
            keep_trailing_newline=False,
        )
        self._env.filters["fecha"] = _fecha

    def context(self, d: Delivery) -> dict[str, Any]:
        """Every name ``d``'s templates see but the email's subject (set once it is rendered).

        Raises ``RenderError`` when the plan's context holds a name the renderer sets, rather
        than letting one silently replace the other.
        """
        own: dict[str, Any] = {
            **self._footer,
            "time_zone": d.time_zone or BOGOTA,
            "base_url": self._base,
        }
        secret = SECRETS.get(d.template)
        clash = (RENDERER_NAMES | own.keys()) & d.context.keys()
        if secret is not None and d.context.get(secret):
            clash.add(secret)
        if clash:
            raise RenderError(
                f"{d.template}: the plan's context holds names the renderer sets: "
                + ", ".join(sorted(clash))
            )
        ctx = {**d.context, **own}
        link = LINKS.get(d.template)
        if secret is None and link is None:
            return ctx
        if not d.sealed_token and secret is None:
            raise RenderError(f"{d.template} needs a sealed token and the event had none")
        # A shown secret is optional (cases opened before keys existed have none): without
        # it, neither the secret nor its link, and the template says what to do instead.
        token = self._open(d.sealed_token) if d.sealed_token else ""
        if secret is not None:
            ctx[secret] = token
        if link is not None:
            ctx["link"] = link(self._base, token, ctx) if token else ""
        return ctx

    def templates(self, name: str) -> tuple[Template, Template]:
        """The text template (holding the subject block) and the HTML one."""
        try:
            return self._env.get_template(f"{name}.txt"), self._env.get_template(f"{name}.html")
        except TemplateNotFound as exc:
            raise RenderError(f"no template {name!r}") from exc

    def render(self, d: Delivery) -> Rendered:
        """The email, or ``RenderError`` when it cannot be made: a template that fails on this
        delivery's data fails on every retry, so the sender abandons it (``EmailFailed``)
        instead of retrying it forever."""
        ctx = self.context(d)
        text_tmpl, html_tmpl = self.templates(d.template)
        try:
            subject = re.sub(r"\s+", " ", subject_block(text_tmpl, ctx)).strip()
            ctx[EMAIL_SUBJECT] = subject
            return Rendered(subject, text_tmpl.render(ctx).strip() + "\n", html_tmpl.render(ctx))
        except TemplateError as exc:
            raise RenderError(f"{d.template}: {type(exc).__name__}: {exc}") from exc

    def _open(self, sealed_token: str) -> str:
        """With the current key, else a replaced one (tokens sealed before a rotation)."""
        for key in self._keys:
            try:
                return open_sealed(key, sealed_token)
            except SealError:
                continue
        raise RenderError("the sealed token cannot be opened with this service's keys")


def subject_block(text_tmpl: Template, ctx: dict[str, Any]) -> str:
    """The subject exactly as the template writes it. ``render`` tidies its whitespace (values
    come from people), which would also hide a template's stray space: tests check this."""
    block = text_tmpl.blocks.get("subject")
    return "".join(block(text_tmpl.new_context(ctx))) if block else ""


def build_message(d: Delivery, rendered: Rendered, sender: str, now: datetime) -> EmailMessage:
    """A multipart/alternative message; the Message-ID is the delivery's, the same on every
    attempt, so a duplicate from the crash window can be recognised downstream."""
    _name, address = parseaddr(d.recipient)
    if not address or "@" not in address or any(c in d.recipient for c in "\r\n<>,;"):
        raise RenderError("the recipient address is not valid")
    user, _, host = address.rpartition("@")
    sender_domain = parseaddr(sender)[1].rpartition("@")[2] or "secop.gov.co"
    msg = EmailMessage()
    msg["From"] = sender
    try:
        msg["To"] = Address(display_name=_one_line(d.recipient_name), username=user, domain=host)
    except (ValueError, IndexError) as exc:
        raise RenderError("the recipient address is not valid") from exc
    msg["Subject"] = _one_line(rendered.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{d.id}@{sender_domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-SECOP-Template"] = d.template
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n\t]+", " ", text).strip()
