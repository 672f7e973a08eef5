"""The service desk in a real browser: a person without an account opens a case ("Crear caso"),
follows it with the key from the opening email (typed, or brought by the email's link), and an
agent of the desk finds it in the queue, answers and resolves it; the requester reads the answer
on the case page and by email."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.async_api import Browser, Page, expect
from secop_devinfra.cluster import ServiceProcs

from tests.browser import harness
from tests.browser.harness import assert_accessible
from tests.e2e.person import Person, token_from
from tests.support.mailbox import Mailbox, links_in

pytestmark = pytest.mark.browser
SUBJECT = "Procesos de contratación"


async def desk_agent(cluster: ServiceProcs, mailbox: Mailbox) -> Person:
    """A confirmed user given the support_agent role by the operator's command (the role
    reaches the token at their next login, here the portal's)."""
    agent = Person(cluster, mailbox)
    await agent.sign_up(account_name="MESA DE SERVICIO")
    [message] = await agent.emails("Activación de su registro")
    [link] = [u for u in links_in(message) if "ConfirmationGuid" in u]
    confirmed = await agent.call(
        "registration",
        "POST",
        "/users/confirmation",
        json={"token": token_from(link, "ConfirmationGuid")},
    )
    assert confirmed.status_code == 200, confirmed.text
    agent.grant_role("support_agent")
    return agent


async def open_case(page: Page, email: str, tag: str) -> str:
    await page.goto("/")
    await (
        page.get_by_role("navigation", name="Principal")
        .get_by_role("link", name="Crear caso")
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Crear caso")
    await assert_accessible(page)

    await page.get_by_label("Nombres y apellidos").fill(f"Ana Pérez {tag}")
    await page.get_by_label("Número de documento").fill("52111222")
    await page.get_by_label("Correo electrónico").fill("ana-sin-arroba")
    await page.get_by_label("Sistema de información").select_option(label="SECOP II")
    await page.get_by_label("Tipo de solicitud").select_option(label="Duda")
    await page.get_by_label("Asunto").select_option(label=SUBJECT)
    await page.get_by_label("Tipo de usuario").select_option(label="Proveedor")
    await page.get_by_label("Descripción").fill(f"¿Cómo consulto un proceso? ({tag})")
    await page.get_by_role("button", name="Enviar").click()

    # Refused before support is called: the summary links to the field, nothing retyped.
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("Correo electrónico")
    await expect(page.get_by_label("Nombres y apellidos")).to_have_value(f"Ana Pérez {tag}")
    await expect(page.get_by_label("Asunto")).to_have_value(SUBJECT)
    await assert_accessible(page)

    await page.get_by_label("Correo electrónico").fill(email)
    await page.get_by_role("button", name="Enviar").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Caso creado")
    main = page.get_by_role("main")
    await expect(main).to_contain_text("clave de acceso")
    await expect(main).to_contain_text("(hora de Bogotá)")
    await assert_accessible(page)
    found = re.search(r"CCE-\d{4}-\d{6,9}", await main.inner_text())
    assert found, await main.inner_text()
    return found.group(0)


async def find_in_queue(page: Page, number: str) -> None:
    """The agent filters the queue by subject and pages on until the case shows."""
    await page.get_by_label("Asunto").select_option(label=SUBJECT)
    await page.get_by_role("button", name="Filtrar").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Casos de la Mesa de Servicio")
    await assert_accessible(page)
    for _ in range(20):
        link = page.get_by_role("link", name=number, exact=True)
        if await link.count():
            await link.click()
            return
        await page.get_by_role("link", name="Página siguiente").click()
    raise AssertionError(f"{number} is not in the queue")


async def test_a_person_opens_a_case_follows_it_with_the_emailed_key_and_the_desk_answers(
    page: Page, browser: Browser, portal_url: str, cluster: ServiceProcs, e2e_mailbox: Mailbox
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"ana.{tag}@proveedores.example.co"
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    number = await open_case(page, email, tag)
    [opened] = await e2e_mailbox.wait_for(email, subject=number, timeout=60)
    key = opened["Text"].split("esta clave de acceso:", 1)[1].split()[0]

    # Following it: the number and email are remembered, the key is typed from the email.
    await page.get_by_role("link", name="Seguir su caso con la clave del correo").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Seguimiento de caso")
    await expect(page.get_by_label("Número de caso")).to_have_value(number)
    await page.get_by_label("Clave de acceso").fill("no-es-la-clave")
    await page.get_by_role("button", name="Ver el caso").click()
    await expect(page.get_by_role("alert")).to_contain_text("No encontramos un caso")
    await assert_accessible(page)
    await page.get_by_label("Clave de acceso").fill(key)
    await page.get_by_role("button", name="Ver el caso").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Caso {number}")
    await expect(page.get_by_role("main")).to_contain_text("Aún no hay mensajes")
    await assert_accessible(page)
    await page.get_by_label("Mensaje").fill("Es urgente, gracias.")
    await page.get_by_role("button", name="Enviar mensaje").click()
    await expect(page.get_by_role("status")).to_contain_text("llegó a la Mesa de Servicio")

    # The desk: an agent logs in through the portal, finds the case, takes it and answers.
    agent = await desk_agent(cluster, e2e_mailbox)
    desk_context = await browser.new_context(
        locale="es-CO", timezone_id="America/Bogota", base_url=portal_url
    )
    desk = await desk_context.new_page()
    harness.watch(desk, "test_cases_the_desk_answers_and_resolves")
    try:
        await desk.goto("/mesa/casos")
        await expect(desk.get_by_role("heading", level=1)).to_have_text("Ingresar")
        await desk.get_by_label("Usuario").fill(agent.username)
        await desk.get_by_label("Contraseña").fill(agent.password)
        await desk.get_by_role("button", name="Ingresar").click()
        await find_in_queue(desk, number)
        await expect(desk.get_by_role("heading", level=1)).to_have_text(f"Caso {number}")
        await expect(desk.get_by_role("main")).to_contain_text("Es urgente, gracias.")
        await assert_accessible(desk)

        await desk.get_by_role("button", name="Asignarme el caso").click()
        await expect(desk.get_by_role("status")).to_contain_text("asignado a usted")
        answer = f"Consulte el proceso en el buscador público ({tag})."
        await desk.get_by_label("Respuesta").fill(answer)
        await desk.get_by_role("button", name="Enviar respuesta").click()
        await expect(desk.get_by_role("status")).to_contain_text("Respuesta enviada")

        # The requester sees the answer on the case page and in their email.
        await page.reload()
        await expect(page.get_by_role("main")).to_contain_text(answer)
        [emailed] = await e2e_mailbox.wait_for(email, subject="Respuesta de la Mesa de Servicio")
        assert answer in emailed["Text"]

        # The agent resolves it: the requester is told, and the case takes no more messages.
        await desk.get_by_label("Solución").fill("Resuelto: proceso consultado.")
        await desk.get_by_role("button", name="Resolver el caso").click()
        await expect(desk.get_by_role("status")).to_contain_text("Caso resuelto")
        await expect(desk.get_by_role("button", name="Reabrir el caso")).to_be_visible()
        await assert_accessible(desk)
    finally:
        await harness.finish(desk)
        await desk_context.close()
    await e2e_mailbox.wait_for(email, subject="fue resuelto")
    await page.reload()
    await expect(page.get_by_role("main")).to_contain_text("Resuelto: proceso consultado.")
    await expect(page.get_by_role("button", name="Enviar mensaje")).to_have_count(0)
    await assert_accessible(page)

    # The key was typed once, kept in the encrypted cookie, and never put in a URL.
    assert requested and not [u for u in requested if key in u]


async def test_a_person_follows_a_case_from_the_emails_link_typing_only_their_email(
    page: Page, browser: Browser, portal_url: str, e2e_mailbox: Mailbox
) -> None:
    """The link of the opening email, opened in another browser (another device, no session):
    the key moves into the session and out of the address bar; the person types their email."""
    tag = uuid.uuid4().hex[:8]
    email = f"luis.{tag}@proveedores.example.co"
    number = await open_case(page, email, tag)
    [opened] = await e2e_mailbox.wait_for(email, subject=number, timeout=60)
    [link] = [u for u in opened["Text"].splitlines() if "/casos/seguimiento/enlace?" in u]
    assert link.startswith(f"{portal_url}/")  # the URL on its own line, to the portal
    key = parse_qs(urlparse(link).query)["clave"][0]
    assert parse_qs(urlparse(link).query)["caso"] == [number]

    other_context = await browser.new_context(
        locale="es-CO", timezone_id="America/Bogota", base_url=portal_url
    )
    other = await other_context.new_page()
    harness.watch(other, "test_cases_the_emails_link")
    requested: list[str] = []
    other.on("request", lambda r: requested.append(r.url))
    try:
        await other.goto(link)
        await expect(other.get_by_role("heading", level=1)).to_have_text("Seguimiento de caso")
        assert other.url == f"{portal_url}/casos/seguimiento"  # the key left the address bar
        await expect(other.get_by_label("Número de caso")).to_have_value(number)
        await expect(other.get_by_role("main")).to_contain_text("llegó con el enlace del correo")
        assert key not in await other.content()
        await assert_accessible(other)

        await other.get_by_label("Correo electrónico").fill(f"otra.{tag}@proveedores.example.co")
        await other.get_by_role("button", name="Ver el caso").click()
        await expect(other.get_by_role("alert")).to_contain_text("No encontramos un caso")
        await assert_accessible(other)

        await other.get_by_label("Correo electrónico").fill(email)  # the linked key stayed
        await other.get_by_role("button", name="Ver el caso").click()
        await expect(other.get_by_role("heading", level=1)).to_have_text(f"Caso {number}")
        await expect(other.get_by_role("main")).to_contain_text("Aún no hay mensajes")
        assert key not in other.url and key not in await other.content()
        await assert_accessible(other)
    finally:
        await harness.finish(other)
        await other_context.close()
    # Only the email's own link carried the key; no page of the portal sent it on.
    assert [u for u in requested if key in u] == [link]
