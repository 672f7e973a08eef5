"""Every email renders from its event: Spanish, both parts, footer, warning, working links."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from notification.domain.plans import TEMPLATES
from notification.service_layer.intake import deliveries_for
from notification.service_layer.rendering import (
    Renderer,
    RenderError,
    build_message,
    format_local,
)
from secop_runtime.sealing import generate_keypair, seal

from tests.unit.notification import samples

pytestmark = pytest.mark.unit

PRIVATE, PUBLIC = generate_keypair()
BASE = "https://secop.example.co"


def renderer(key: str = PRIVATE) -> Renderer:
    return Renderer(
        public_base_url=BASE + "/",
        seal_private_key=key,
        footer={"desk_hours": "Lunes a viernes 7-19", "desk_phones": "018000", "desk_contact": "s"},
    )


def rendered_all():
    out = {}
    for event in samples.every_event(PUBLIC, "ana@example.co"):
        for d in deliveries_for(event, datetime.now(UTC), 5):
            out.setdefault(d.template, (d, renderer().render(d)))
    return out


def test_every_template_renders_in_spanish_with_footer_and_warning() -> None:
    rendered = rendered_all()
    assert set(rendered) == set(TEMPLATES)
    for name, (d, r) in rendered.items():
        assert r.subject and "\n" not in r.subject, name
        for part in (r.text, r.html):
            assert "Mesa de Servicio" in part, name
            assert "nunca le solicitamos datos personales" in part, name
            assert "Lunes a viernes 7-19" in part, name
        assert r.html.lstrip().startswith("<!DOCTYPE html>"), name
        assert '<html lang="es-CO">' in r.html
        msg = build_message(d, r, "SECOP II <no-reply@secop.gov.co>", datetime.now(UTC))
        assert msg["Message-ID"] == f"<{d.id}@secop.gov.co>"
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None


def test_confirmation_email_carries_the_opened_token_and_the_account_name() -> None:
    d, r = rendered_all()["account_confirmation"]
    assert r.subject == "Activación de su registro en SECOP"
    assert "ana.perez" in r.text
    link = next(w for w in r.text.split() if w.startswith(BASE))
    url = urlparse(link)
    assert url.path == "/ConfirmAccount"
    assert parse_qs(url.query) == {
        "ConfirmationGuid": ["tok-123"],
        "CompanyName": ["F&F ASOCIADOS"],
    }
    assert "ConfirmationGuid=tok-123&amp;CompanyName=F%26F+ASOCIADOS" in r.html
    assert d.sealed_token and "tok-123" not in d.sealed_token  # stored sealed, never in clear


def test_reset_email_links_to_change_password_with_the_token() -> None:
    _, r = rendered_all()["password_reset"]
    assert f"{BASE}/ChangePassword?token=reset-456" in r.text
    assert "más reciente" in r.text


def test_html_escapes_what_people_wrote_and_text_keeps_it() -> None:
    _, r = rendered_all()["case_message"]
    assert "&lt;b&gt;ana.perez&lt;/b&gt;" in r.html and "<b>ana.perez" not in r.html
    assert "<b>ana.perez</b>" in r.text


def test_dates_are_shown_in_the_recipients_time_zone() -> None:
    when = datetime(2026, 3, 3, 19, 5, tzinfo=UTC)
    assert (
        format_local(when, "America/Bogota") == "martes 3 de marzo de 2026, 2:05 p. m. (UTC-05:00)"
    )
    assert format_local(when, "Europe/Madrid").endswith("8:05 p. m. (UTC+01:00)")
    assert "(UTC-05:00)" in format_local(when, "Not/AZone")  # unknown zone: Bogotá
    _, r = rendered_all()["case_opened"]
    assert "martes 3 de marzo de 2026, 2:05 p. m." in r.text


def test_a_token_sealed_for_another_key_cannot_be_rendered() -> None:
    _, other_public = generate_keypair()
    event = samples.user_registered(other_public, "ana@example.co")
    (d,) = deliveries_for(event, datetime.now(UTC), 5)
    with pytest.raises(RenderError, match="cannot be opened"):
        renderer().render(d)


def test_a_bad_recipient_address_is_refused_before_smtp() -> None:
    event = samples.user_registered(PUBLIC, "not-an-address")
    (d,) = deliveries_for(event, datetime.now(UTC), 5)
    with pytest.raises(RenderError, match="address"):
        build_message(d, renderer().render(d), "SECOP II <no-reply@secop.gov.co>", samples.NOW)


def test_sealing_helper_round_trips_for_the_samples() -> None:
    assert seal(PUBLIC, "x") != seal(PUBLIC, "x")  # sealed boxes are randomised


def test_the_lock_email_carries_a_reset_link_that_lifts_the_lock() -> None:
    _, r = rendered_all()["account_locked"]
    assert r.subject == "Su usuario de SECOP fue bloqueado"
    link = next(w for w in r.text.split() if w.startswith(BASE))
    assert urlparse(link).path == "/ChangePassword"
    assert parse_qs(urlparse(link).query) == {"token": ["unlock-789"]}
    assert "desbloquear" in r.html and "ana.perez" in r.text


def test_email_change_notices_reach_the_old_address_with_a_revert_link() -> None:
    for name in ("email_change_requested", "email_changed"):
        _, r = rendered_all()[name]
        link = next(w for w in r.text.split() if w.startswith(BASE))
        assert urlparse(link).path == "/RevertEmail", name
        assert parse_qs(urlparse(link).query) == {"token": ["revert-321"]}, name
        assert "o***o@o***o.co" in r.text and "a***a@e***e.co" in r.text, name
    _, renamed = rendered_all()["username_changed"]
    assert "ana.vieja" in renamed.text and "ana.perez" in renamed.text


def test_an_undone_email_change_sends_a_link_to_set_a_new_password() -> None:
    _, r = rendered_all()["password_after_revert"]
    link = next(w for w in r.text.split() if w.startswith(BASE))
    assert parse_qs(urlparse(link).query) == {"token": ["after-revert-654"]}
    assert "ya no funciona" in r.text


def test_the_case_opened_email_carries_the_cases_access_key() -> None:
    d, r = rendered_all()["case_opened"]
    assert "clave-del-caso-77" in r.text and "clave-del-caso-77" in r.html
    assert d.sealed_token and "clave-del-caso-77" not in d.sealed_token  # sealed until rendered


def test_the_case_opened_email_links_to_the_portals_follow_page_with_number_and_key() -> None:
    d, _ = rendered_all()["case_opened"]
    key = "a+b/c=d&e ñ"  # every character that must be encoded in a query
    r = renderer().render(replace(d, sealed_token=seal(PUBLIC, key)))
    [line] = [w for w in r.text.splitlines() if w.startswith(BASE)]  # the URL on its own line
    url = urlparse(line)
    assert url.path == "/casos/seguimiento/enlace"
    assert parse_qs(url.query) == {"caso": [d.context["case_number"]], "clave": [key]}
    assert key not in line and "clave=a%2Bb%2Fc%3Dd%26e+%C3%B1" in line
    href = line.replace("&", "&amp;")
    assert f'<a href="{href}"' in r.html and ">Seguir su caso</a>" in r.html
    assert f"esta clave de acceso:\n{key}\n" in r.text  # shown too: another device may follow


def test_an_invitation_links_to_its_page_with_the_opened_token_and_says_what_to_do() -> None:
    d, r = rendered_all()["member_invited"]
    assert r.subject == "Invitación para unirse a una cuenta en SECOP II"
    assert "H&amp;H ASOCIADOS</strong> (NIT 800111202)" in r.html  # in the body, escaped
    link = next(w for w in r.text.split() if w.startswith(BASE))
    assert urlparse(link).path == "/AcceptInvitation"
    assert parse_qs(urlparse(link).query) == {"token": ["invite-135"]}
    assert "Admin Uno" in r.text and "Usuario Administrador, Usuario Comprador" in r.text
    assert "mismo correo electrónico (ana@example.co)" in r.text and "regístrese" in r.text
    assert "vence el martes 10 de marzo de 2026" in r.text and "una sola vez" in r.html
    assert d.sealed_token and "invite-135" not in d.sealed_token  # sealed until rendered
    assert d.recipient == "ana@example.co" and d.recipient_name == "Carla Ruiz"


def test_an_invitation_sent_again_says_only_its_link_works() -> None:
    event = samples.member_invited(PUBLIC, "ana@example.co", "again-1", resent=True)
    (d,) = deliveries_for(event, datetime.now(UTC), 5)
    r = renderer().render(d)
    assert r.subject == "Nuevo enlace de su invitación para unirse a una cuenta en SECOP II"
    assert "solo funciona el enlace de este mensaje" in r.text
    assert f"{BASE}/AcceptInvitation?token=again-1" in r.text


def test_a_revoked_invitation_tells_the_invitee_its_link_no_longer_works() -> None:
    _, r = rendered_all()["invitation_revoked"]
    assert r.subject == "Su invitación para unirse a una cuenta en SECOP II fue retirada"
    assert "ya no funciona" in r.text and BASE + "/AcceptInvitation" not in r.text
    assert "Usuario Administrador de H&H ASOCIADOS (NIT 800111202) retiró" in r.text


def test_no_subject_of_an_invitation_email_carries_what_an_account_chose() -> None:
    """An account's name is chosen by whoever registers it: a subject is what a phishing
    email leads with, so invitation subjects are fixed texts."""
    hostile = "PAGUE HOY SU MULTA SECOP EN WWW PAGOS SECOP CO"
    for event in (
        samples.member_invited(PUBLIC, "ana@example.co", account_name=hostile),
        samples.member_invited(PUBLIC, "ana@example.co", resent=True, account_name=hostile),
        samples.invitation_revoked("ana@example.co", account_name=hostile),
        samples.invitation_revoked(
            "ana@example.co", reason="account_rejected", account_name=hostile
        ),
    ):
        (d,) = deliveries_for(event, datetime.now(UTC), 5)
        r = renderer().render(d)
        assert "SECOP II" in r.subject and "MULTA" not in r.subject
        assert hostile in r.text  # the account is named in the body only


def test_an_invitation_closed_with_its_rejected_account_says_it_is_no_longer_valid() -> None:
    event = samples.invitation_revoked("ana@example.co", reason="account_rejected")
    (d,) = deliveries_for(event, datetime.now(UTC), 5)
    r = renderer().render(d)
    assert r.subject == "Su invitación para unirse a una cuenta en SECOP II ya no es válida"
    assert "ya no es válida" in r.text and "ya no funciona" in r.html
    assert "retiró" not in r.text and "Usuario Administrador" not in r.text


NOTICES = ("member_access_decided", "library_document_changed", "account_case_updated")


def test_every_account_notice_says_why_it_is_received_and_where_to_change_that() -> None:
    rendered = rendered_all()
    for name in NOTICES:
        _, r = rendered[name]
        for part in (r.text, r.html):
            assert "Recibe este aviso porque eligió" in part, name
            assert "suscripción a notificaciones de la cuenta H&" in part, name
            assert "Suscripción a notificaciones" in part, name
        assert "Admin &lt;Uno&gt;" in r.html and "Admin <Uno>" in r.text  # addressed by name
        assert "H&H" not in r.subject and "Pedro" not in r.subject  # subjects are fixed texts


def test_members_told_of_a_decision_see_who_and_when_but_not_the_users_address() -> None:
    user = samples.person("pedro.gomez@example.co", "Pedro Gómez")
    follower = samples.person("marta@example.co", "Marta", "Europe/Madrid")
    event = samples.access_decided(user, [follower], "rejected", "No trabaja en la entidad.")
    _, d = deliveries_for(event, datetime.now(UTC), 5)
    r = renderer().render(d)
    assert r.subject == "Se rechazó una solicitud de acceso a su cuenta de SECOP II"
    assert "Estimado(a) Marta:" in r.text and "rechazó" in r.text and "Pedro Gómez" in r.text
    assert "Motivo indicado: No trabaja en la entidad." in r.text
    assert "martes 3 de marzo de 2026, 8:05 p. m. (UTC+01:00)" in r.text  # Marta's zone
    assert "pedro.gomez@example.co" not in r.text + r.html


def test_a_library_notice_names_the_document_its_version_and_file_escaped_in_html() -> None:
    _, r = rendered_all()["library_document_changed"]
    assert r.subject == "Nuevo documento en la biblioteca de su cuenta de SECOP II"
    assert "Documento: Certificado de <existencia>" in r.text
    assert "Certificado de &lt;existencia&gt;" in r.html and "<existencia>" not in r.html
    assert "Versión: 1" in r.text and "Archivo: camara_comercio.pdf" in r.text
    removed = samples.library_document_changed(
        [samples.person("ana@example.co")], action="removed", version=3, filename=""
    )
    (d,) = deliveries_for(removed, datetime.now(UTC), 5)
    gone = renderer().render(d)
    assert gone.subject == "Se retiró un documento de la biblioteca de su cuenta de SECOP II"
    assert "Última versión: 3" in gone.text and "Archivo" not in gone.text


def test_a_case_notice_gives_the_cases_number_and_state_and_nothing_of_its_messages() -> None:
    _, r = rendered_all()["account_case_updated"]
    assert r.subject == "Caso CCE-2026-000123 de su cuenta en SECOP II: creado"
    assert "Número de caso: CCE-2026-000123" in r.text and "Estado: abierto" in r.text
    assert "Tipo de solicitud: solicitud" in r.text
    assert "Los mensajes del caso no se incluyen" in r.text
