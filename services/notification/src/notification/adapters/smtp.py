"""The SMTP relay through aiosmtplib: a few reused connections, and failures told apart.

Three outcomes matter to the state machine:

- :class:`SmtpUnavailable`: no connection could be made (refused, timeout, TLS or login
  failure). Nothing was attempted for any email, so no attempt is spent: the sender pauses.
- :class:`SendFailed` with ``permanent=True``: the relay refused this message for good (a 5xx
  reply to MAIL, RCPT or DATA). Retrying would not help.
- :class:`SendFailed` with ``permanent=False``: a 4xx, a dropped connection, a timeout.
"""

from __future__ import annotations

import contextlib
import email.policy
import logging
import ssl
import time
from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPException,
    SMTPHeloError,
    SMTPRecipientsRefused,
    SMTPResponseException,
)

log = logging.getLogger(__name__)


#: How a message goes on the wire: 7-bit safe (any server, 8BITMIME or not) and headers not
#: folded below RFC 5322's hard limit of 998 characters. Python's folder, at the usual 78,
#: breaks encoded words: a subject with accents past the 78th column came out with a double
#: space, a space inside a word, or a leading space ("SECOP  —Recuperación ... acento s").
WIRE = email.policy.SMTP.clone(max_line_length=998, cte_type="7bit")


def wire_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=WIRE)


class SmtpUnavailable(Exception):
    """The relay cannot be reached (or refuses us as a client): mail waits."""


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def classify(exc: BaseException) -> SendFailed:
    """A failure during one message's exchange, as the state machine needs it."""
    if isinstance(exc, SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return SendFailed(f"recipient refused: {detail}", permanent=all(c >= 500 for c in codes))
    if isinstance(exc, SMTPAuthenticationError):  # our credentials, not this message
        return SendFailed(f"{exc.code} {exc.message}", permanent=False)
    if isinstance(exc, SMTPResponseException):
        return SendFailed(f"{exc.code} {exc.message}", permanent=500 <= exc.code < 600)
    return SendFailed(f"{type(exc).__name__}: {exc}", permanent=False)


class _Conn:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.last_used = time.monotonic()


class SmtpPool:
    """Up to ``size`` open connections, reused; a broken one is dropped and replaced."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: str,
        username: str | None,
        password: str | None,
        timeout: float,
        validate_certs: bool,
        size: int,
        idle_check_s: float,
    ) -> None:
        self._options = {
            "hostname": host,
            "port": port,
            "timeout": timeout,
            "use_tls": tls == "tls",
            "start_tls": tls == "starttls",
            "validate_certs": validate_certs,
            "username": username or None,
            "password": password or None,
        }
        if tls != "none" and validate_certs:
            self._options["tls_context"] = ssl.create_default_context()
        self._size = size
        self._idle_check = idle_check_s
        self._idle: list[_Conn] = []

    async def acquire(self) -> _Conn:
        """An open connection (reused when possible); :class:`SmtpUnavailable` otherwise."""
        while self._idle:
            conn = self._idle.pop()
            if await self._still_good(conn):
                return conn
            await self._close(conn)
        client = aiosmtplib.SMTP(**self._options)
        try:
            await client.connect()
        except (OSError, SMTPConnectError, SMTPHeloError, SMTPAuthenticationError) as exc:
            await self._close(_Conn(client))
            raise SmtpUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except SMTPException as exc:
            await self._close(_Conn(client))
            raise SmtpUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return _Conn(client)

    async def _still_good(self, conn: _Conn) -> bool:
        if not conn.client.is_connected:
            return False
        if time.monotonic() - conn.last_used < self._idle_check:
            return True
        try:  # servers drop idle clients: check before trusting it with a message
            await conn.client.noop()
            return True
        except (SMTPException, OSError):
            return False

    async def send(self, conn: _Conn, message: EmailMessage, recipient: str) -> None:
        """Send one message; on any failure the connection is discarded (state unknown)."""
        try:
            sender = parseaddr(str(message["From"]))[1]
            await conn.client.sendmail(sender, [recipient], wire_bytes(message))
        except Exception as exc:  # whatever it was, this attempt failed and counts
            await self._close(conn)
            raise classify(exc) from exc
        conn.last_used = time.monotonic()

    async def release(self, conn: _Conn) -> None:
        if conn.client.is_connected and len(self._idle) < self._size:
            self._idle.append(conn)
        else:
            await self._close(conn)

    async def discard(self, conn: _Conn) -> None:
        await self._close(conn)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.client.quit()
            await self._close(conn)

    @staticmethod
    async def _close(conn: _Conn) -> None:
        with contextlib.suppress(Exception):
            conn.client.close()
