"""A subject arrives exactly as written, whatever its length and accents.

Python's header folder (78 columns) broke RFC 2047 encoded words: a long subject with accents
arrived with a double space, a space inside a word or a leading space. The pool now sends the
message unfolded up to RFC 5322's limit; the sink decodes it as any mail client would.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from notification.adapters.smtp import SmtpPool, wire_bytes
from secop_devinfra.infra import Endpoints

from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.integration

SUBJECTS = (
    "Caso CCE-2026-000025 creado en la Mesa de Servicio de SECOP — Recuperación de usuario",
    "Su solicitud de acceso a Ministerio de Tecnologías de la Información y las Comunicaciones"
    " de la República fue aceptada",
    "Agencia Nacional de Contratación Pública – Colombia Compra Eficiente: su cuenta está activa"
    " desde hoy, con acentos áéíóú y eñes",
)


def _message(subject: str, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "SECOP II <no-reply@secop.gov.co>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Texto con acentos: está, Bogotá.\n")
    msg.add_alternative("<p>está</p>", subtype="html")
    return msg


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_wire_form_decodes_to_the_subject(subject: str) -> None:
    raw = wire_bytes(_message(subject, "ana@example.co"))
    header = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject: "))
    assert str(make_header(decode_header(header[len(b"Subject: ") :].decode()))) == subject
    assert max(raw) < 128  # 7-bit safe: any relay takes it, 8BITMIME or not


async def test_a_long_accented_subject_arrives_as_written(
    infra: Endpoints, uid: str, mailbox: Mailbox
) -> None:
    pool = SmtpPool(
        host=infra.smtp_host,
        port=infra.smtp_port,
        tls="none",
        username=None,
        password=None,
        timeout=10,
        validate_certs=False,
        size=1,
        idle_check_s=5,
    )
    try:
        for n, subject in enumerate(SUBJECTS):
            to = f"{uid}.{n}@example.co"
            conn = await pool.acquire()
            await pool.send(conn, _message(subject, to), to)
            await pool.release(conn)
            [received] = await mailbox.wait_for(to)
            assert received["Subject"] == subject
    finally:
        await pool.close()
