"""An SMTP sink that keeps every message, with a small HTTP API modelled on Mailpit's.

The HTTP API answers the subset of Mailpit's ``/api/v1`` that our tests and people use, so one
mailbox reader works with this sink and with Mailpit in containers:

- ``GET /api/v1/messages``: newest first, ``{"total", "count", "messages": [summary...]}``
- ``GET /api/v1/search?query=to:ADDRESS`` (also ``subject:TEXT``): the same shape, filtered
- ``GET /api/v1/message/<ID>``: ``{ID, From, To, Subject, Date, Text, HTML}``
- ``GET /api/v1/message/<ID>/raw``: the message source
- ``DELETE /api/v1/messages``: forget everything
- ``GET /livez``

Run: ``python -m secop_devinfra.smtp_sink --smtp-port 1025 --http-port 8025 [--store DIR]``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import signal
import threading
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self, store: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._store = store
        if store:
            store.mkdir(parents=True, exist_ok=True)
            for path in sorted(store.glob("*.eml"), key=lambda p: p.stat().st_mtime):
                self._add(path.read_bytes(), [], path.stem, persist=False)

    def _add(self, raw: bytes, rcpt: list[str], msg_id: str, persist: bool = True) -> None:
        msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
        text_part = msg.get_body(("plain",))
        html_part = msg.get_body(("html",))
        to = [{"Name": n, "Address": a} for n, a in getaddresses(msg.get_all("To", []))]
        for addr in rcpt:  # envelope recipients not in the headers (Bcc) still count
            if not any(t["Address"].lower() == addr.lower() for t in to):
                to.append({"Name": "", "Address": addr})
        (from_name, from_addr), *_ = getaddresses(msg.get_all("From", [])) or [("", "")]
        record = {
            "ID": msg_id,
            "MessageID": msg.get("Message-ID", ""),
            "From": {"Name": from_name, "Address": from_addr},
            "To": to,
            "Subject": str(msg.get("Subject", "")),
            "Date": str(msg.get("Date", "")),
            "Created": datetime.now(UTC).isoformat(),
            "Size": len(raw),
            "Text": text_part.get_content() if text_part else "",
            "HTML": html_part.get_content() if html_part else "",
            "_raw": raw,
        }
        with self._lock:
            self._messages.append(record)
        if persist and self._store:
            (self._store / f"{msg_id}.eml").write_bytes(raw)

    def add(self, raw: bytes, rcpt: list[str]) -> None:
        self._add(raw, rcpt, uuid.uuid4().hex)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._messages))

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
        if self._store:
            for path in self._store.glob("*.eml"):
                path.unlink(missing_ok=True)


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k not in ("Text", "HTML", "_raw")}


def _matches(m: dict[str, Any], query: str) -> bool:
    for term in query.split():
        key, _, value = term.partition(":")
        value = value.strip('"').lower()
        if key == "to" and not any(value == t["Address"].lower() for t in m["To"]):
            return False
        if key == "subject" and value not in m["Subject"].lower():
            return False
    return True


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mailbox.add(envelope.original_content or envelope.content, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def make_http_server(mailbox: Mailbox, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Api(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = parse_qs(url.query)
            if url.path == "/livez":
                self._json({"status": "ok"})
            elif url.path in ("/api/v1/messages", "/api/v1/search"):
                query = unquote(params.get("query", [""])[0])
                found = [m for m in mailbox.all() if _matches(m, query)]
                limit = int(params.get("limit", ["1000"])[0])
                self._json(
                    {
                        "total": len(found),
                        "count": min(len(found), limit),
                        "messages": [_summary(m) for m in found[:limit]],
                    }
                )
            elif url.path.startswith("/api/v1/message/"):
                rest = url.path.removeprefix("/api/v1/message/")
                msg_id, _, suffix = rest.partition("/")
                match = next((m for m in mailbox.all() if m["ID"] == msg_id), None)
                if match is None:
                    self._json({"error": "message not found"}, 404)
                elif suffix == "raw":
                    self.send_response(200)
                    self.send_header("Content-Type", "message/rfc822")
                    self.end_headers()
                    self.wfile.write(match["_raw"])
                else:
                    self._json({k: v for k, v in match.items() if k != "_raw"})
            else:
                self._json({"error": "not found"}, 404)

        def do_DELETE(self) -> None:
            if urlparse(self.path).path == "/api/v1/messages":
                mailbox.clear()
                self._json({"status": "ok"})
            else:
                self._json({"error": "not found"}, 404)

    return ThreadingHTTPServer((host, port), Api)


class SmtpSink:
    """The sink in-process: SMTP on one thread, HTTP on another."""

    def __init__(
        self, smtp_port: int, http_port: int, store: Path | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.mailbox = Mailbox(store)
        self.controller = Controller(
            _Handler(self.mailbox), hostname=host, port=smtp_port, data_size_limit=30 * 1024 * 1024
        )
        self.http = make_http_server(self.mailbox, http_port, host)
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def start(self) -> SmtpSink:
        self.controller.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self.http.shutdown()
        self.http.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--store", type=Path, default=None, help="keep messages as .eml files")
    args = parser.parse_args()
    sink = SmtpSink(args.smtp_port, args.http_port, args.store, args.host).start()
    print(
        f"SMTP sink on {args.host}:{args.smtp_port}, API on http://{args.host}:{args.http_port}",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    sink.stop()


if __name__ == "__main__":
    main()
