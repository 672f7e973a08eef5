"""A person's own pages in a real browser: signing up (a mistake first), confirming from the
emailed link, logging in, the access history, logging out; then a lost username and password
recovered through the pages and the emails, and a login with the new password."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect
from secop_devinfra.cluster import ServiceProcs

from tests.browser.harness import assert_accessible
from tests.e2e.person import Person
from tests.support.mailbox import Mailbox, links_in

pytestmark = pytest.mark.browser

PASSWORD = "Compras-Publicas-2026!"
NEW_PASSWORD = "Otra-Clave-Segura-77#"


async def submit(page: Page, button: str) -> None:
    """Press a form's button and wait for the page the portal answers with."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


async def fill_secrets(page: Page) -> None:
    await page.fill("#f-password", PASSWORD)
    await page.fill("#f-password_confirmation", PASSWORD)
    await page.fill("#f-security_answer", "Bogotá")


async def log_in(page: Page, username: str, password: str) -> None:
    await page.fill("#f-username", username)
    await page.fill("#f-password", password)
    await submit(page, "Ingresar")


async def test_a_person_signs_up_confirms_logs_in_and_recovers_a_lost_username_and_password(
    page: Page, portal_url: str, e2e_mailbox: Mailbox
) -> None:
    tag = uuid.uuid4().hex[:8]
    username, email = f"ana.{tag}", f"ana.{tag}@personas.example.co"
    document = str(int(tag, 16) % 10**10).rjust(10, "1")

    # Step 1, "Registrar usuario", with a mobile number registration refuses.
    await page.goto("/registro")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Registrar usuario")
    await expect(page.locator('[aria-current="step"]')).to_contain_text("Registrar usuario")
    await assert_accessible(page)
    await page.fill("#f-full_name", f"Ana Pérez {tag}")
    await page.select_option("#f-document_type", "CC")
    await page.fill("#f-document_number", document)
    await page.fill("#f-email", email)
    await page.fill("#f-mobile_phone", "12")
    await page.fill("#f-username", username)
    await fill_secrets(page)
    await page.fill("#f-security_question", "¿Ciudad donde nació?")
    await page.fill("#f-account_name", "ALCALDIA DE PRUEBA")
    await page.check("#f-accept_terms")
    await submit(page, "Registrar usuario")
    await expect(page.locator("#f-mobile_phone-error")).to_contain_text("celular válido")
    await expect(page.locator(".error-summary a[href='#f-mobile_phone']")).to_be_visible()
    await expect(page.locator("#f-mobile_phone")).to_have_attribute("aria-invalid", "true")
    for field, value in (
        ("full_name", f"Ana Pérez {tag}"),
        ("email", email),
        ("username", username),
    ):
        await expect(page.locator(f"#f-{field}")).to_have_value(value)  # nothing retyped
    await expect(page.locator("#f-document_type")).to_have_value("CC")
    await expect(page.locator("#f-accept_terms")).to_be_checked()
    for secret in ("#f-password", "#f-password_confirmation", "#f-security_answer"):
        await expect(page.locator(secret)).to_have_value("")  # never written back
    assert PASSWORD not in await page.content()
    await assert_accessible(page)

    await page.fill("#f-mobile_phone", "+57 300 " + document[-7:])
    await fill_secrets(page)
    await submit(page, "Registrar usuario")

    # Step 2, "Confirmar registro": the emailed link opens the portal's page; a GET spends nothing.
    assert page.url == f"{portal_url}/registro/confirmar"
    await expect(page.locator(".notice")).to_contain_text(email)
    await expect(page.locator('[aria-current="step"]')).to_contain_text("Confirmar registro")
    await assert_accessible(page)
    [activation] = await e2e_mailbox.wait_for(
        email, subject="Activación de su registro", timeout=60
    )
    [link] = [u for u in links_in(activation) if "/ConfirmAccount?" in u]
    assert link.startswith(f"{portal_url}/ConfirmAccount?ConfirmationGuid=")
    await page.goto(link)
    await page.goto(link)  # followed twice (a mail scanner, then the person): still usable
    await expect(page.get_by_text("ALCALDIA DE PRUEBA")).to_be_visible()
    await assert_accessible(page)
    await submit(page, "Confirmar registro")
    assert page.url == f"{portal_url}/registro/confirmado"  # no token in the address
    await expect(page.get_by_role("heading", level=1)).to_have_text("Registro confirmado")
    await assert_accessible(page)

    # Log in, on to step 3 ("Crear o solicitar acceso a una Entidad", the accounts' pages).
    async with page.expect_navigation():
        await page.get_by_role("link", name=re.compile("Ingresar y crear o solicitar")).click()
    await log_in(page, username, PASSWORD)
    assert page.url == f"{portal_url}/entidades/buscar"

    # "Mi cuenta": personal data, credentials and the access history with this login.
    await page.goto("/mi-cuenta")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mi cuenta")
    await expect(page.locator("dl.data")).to_contain_text(email)
    await expect(page.locator("dl.data")).to_contain_text("(UTC-05:00) Bogotá, Lima, Quito")
    history = page.locator("#historial ~ table tbody tr")
    await expect(history.first).to_contain_text("Ingreso")
    await expect(history.first.locator("td").first).to_contain_text(" de 20")  # a Spanish date
    await assert_accessible(page)

    await submit(page, "Salir")
    await expect(page.locator(".notice")).to_contain_text("Salió de SECOP II")
    nav = page.get_by_role("navigation", name="Principal")
    await expect(nav.get_by_role("link", name="Ingresar", exact=True)).to_be_visible()

    # Lost username: asked by email, received at the registered address.
    await page.goto("/recuperar/usuario")
    await assert_accessible(page)
    await page.fill("#f-email", email)
    await page.fill("#f-username", username)
    await submit(page, "Consultar")  # two keys at once: refused, values kept
    await expect(page.locator(".error-summary")).to_contain_text("solo uno")
    await expect(page.locator("#f-email")).to_have_value(email)
    await page.fill("#f-username", "")
    await submit(page, "Consultar")
    await expect(page.locator(".notice")).to_contain_text("le enviamos un correo")
    await assert_accessible(page)
    [recovered] = await e2e_mailbox.wait_for(
        email, subject="Recuperación de su usuario", timeout=60
    )
    assert f"Su nombre de usuario es: {username}" in recovered["Text"]

    # Lost password: "Enviar correo", the emailed link, the new password twice.
    await page.goto("/recuperar/contrasena")
    await assert_accessible(page)
    await page.fill("#f-username", username)
    await submit(page, "Enviar correo")
    await expect(page.locator(".notice")).to_contain_text("correo más reciente")
    [reset] = await e2e_mailbox.wait_for(email, subject="Recuperación de su contraseña", timeout=60)
    [link] = [u for u in links_in(reset) if "/ChangePassword?" in u]
    assert link.startswith(f"{portal_url}/ChangePassword?token=")
    await page.goto(link)
    await assert_accessible(page)
    await page.fill("#f-new_password", NEW_PASSWORD)
    await page.fill("#f-new_password_confirmation", NEW_PASSWORD + "x")
    await submit(page, "Cambiar contraseña")  # a typo: said beside the field, link still good
    await expect(page.locator("#f-new_password_confirmation-error")).to_contain_text("no coinciden")
    await page.fill("#f-new_password", NEW_PASSWORD)
    await page.fill("#f-new_password_confirmation", NEW_PASSWORD)
    await submit(page, "Cambiar contraseña")
    assert page.url == f"{portal_url}/contrasena/cambiada"
    await assert_accessible(page)

    # The old password no longer works; the new one does.
    async with page.expect_navigation():
        await page.get_by_role("link", name="Ingresar con la nueva contraseña").click()
    await log_in(page, username, PASSWORD)
    await expect(page.locator(".error-summary")).to_contain_text("no son correctos")
    await log_in(page, username, NEW_PASSWORD)
    await expect(page.locator(".notice")).to_contain_text(f"Bienvenido(a), {username}")

    # The used link is refused in words, with the way to ask for a new one.
    await page.goto(link)
    await page.fill("#f-new_password", NEW_PASSWORD)
    await page.fill("#f-new_password_confirmation", NEW_PASSWORD)
    await submit(page, "Cambiar contraseña")
    await expect(page.locator(".error-summary")).to_contain_text("ya se usó")
    await assert_accessible(page)


async def test_a_person_edits_their_data_and_credentials_and_undoes_an_email_change(
    page: Page, portal_url: str, cluster: ServiceProcs, e2e_mailbox: Mailbox
) -> None:
    person = await Person(cluster, e2e_mailbox).become_user()
    await page.goto("/mi-cuenta")  # signed out: sent to log in, and brought back
    await log_in(page, person.username, person.password)
    assert page.url == f"{portal_url}/mi-cuenta"

    # "Mis datos de usuario" > "Editar": a new email needs the current password.
    await page.get_by_role("link", name="Editar mis datos de usuario").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Editar mis datos de usuario")
    await assert_accessible(page)
    new_email = f"nuevo.{person.tag}@personas.example.co"
    await page.fill("#f-full_name", f"Persona Editada {person.tag}")
    await page.fill("#f-email", new_email)
    await submit(page, "Guardar mis datos")
    await expect(page.locator("#f-current_password-error")).to_contain_text("contraseña actual")
    await expect(page.locator("#f-email")).to_have_value(new_email)
    await assert_accessible(page)
    await page.fill("#f-current_password", person.password)
    await submit(page, "Guardar mis datos")
    assert page.url == f"{portal_url}/mi-cuenta"
    await expect(page.locator("div.notice")).to_contain_text("cuando lo confirme")
    data = page.locator("dl.data")
    await expect(data).to_contain_text(f"Persona Editada {person.tag}")
    await expect(data).to_contain_text(person.email)  # the old address until confirmed
    await expect(page.locator("p.notice")).to_contain_text(new_email)

    # The old address may undo it: the emailed link opens the portal's "Conservar mi correo".
    [asked] = await person.emails("Se pidió cambiar el correo")
    [revert] = [u for u in links_in(asked) if "/RevertEmail?" in u]
    assert revert.startswith(f"{portal_url}/RevertEmail?token=")

    # "Accesos del usuario": a new username, then a new password (every session ends).
    await page.goto("/mi-cuenta/usuario")
    await assert_accessible(page)
    new_username = f"q.{person.tag}"
    await page.fill("#f-new_username", new_username)
    await page.fill("#f-current_password", person.password)
    await submit(page, "Cambiar usuario")
    await expect(page.locator("div.notice")).to_contain_text(new_username)
    nav = page.get_by_role("navigation", name="Principal")
    await expect(nav).to_contain_text(f"Mi cuenta ({new_username})")

    await page.goto("/mi-cuenta/contrasena")
    await assert_accessible(page)
    await page.fill("#f-current_password", "no-es-la-clave-1!")
    await page.fill("#f-new_password", NEW_PASSWORD)
    await page.fill("#f-new_password_confirmation", NEW_PASSWORD)
    await submit(page, "Cambiar contraseña")
    await expect(page.locator("#f-current_password-error")).to_contain_text("no es correcta")
    await page.fill("#f-current_password", person.password)
    await page.fill("#f-new_password", NEW_PASSWORD)
    await page.fill("#f-new_password_confirmation", NEW_PASSWORD)
    await submit(page, "Cambiar contraseña")
    assert page.url.startswith(f"{portal_url}/ingresar")
    await expect(page.locator("div.notice")).to_contain_text("se cerraron todas sus sesiones")
    await log_in(page, new_username, NEW_PASSWORD)
    assert page.url == f"{portal_url}/mi-cuenta"
    history = page.locator("#historial ~ table tbody")
    await expect(history).to_contain_text("Cambio de contraseña")
    await expect(history).to_contain_text("Cambio de usuario")
    await expect(history).to_contain_text("Contraseña actual incorrecta")

    # Undoing the email change ends every session: the person is signed out here too.
    await page.goto(revert)
    await assert_accessible(page)
    await submit(page, "Conservar mi correo anterior")
    assert page.url == f"{portal_url}/correo/restablecido"
    await assert_accessible(page)
    await expect(nav.get_by_role("link", name="Ingresar", exact=True)).to_be_visible()
