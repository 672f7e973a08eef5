"""The accounts' pages in a real browser, as people use them: a buyer entity registered through
"Validar si mi entidad ya existe", its form (a mistake first), documents uploaded and
"Finalizar" listing what is missing, activated by the service desk, and a second person let in
as a buyer in "Administración de usuarios"; then a supplier registered with its documents
(active at "Finalizar") that a member of an active entity finds in the directory and whose
document they download."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, Page, expect
from secop_devinfra.cluster import ServiceProcs

from tests.browser import harness
from tests.browser.harness import assert_accessible
from tests.e2e.person import (
    ENTITY_DOCUMENTS,
    PDF,
    Person,
    a_nit,
    approve,
    register_entity,
)
from tests.support.mailbox import Mailbox, links_in
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

ACTIVATION_SUBJECT = "Gestión de registro y configuración de Entidades Estatales"
SUPPLIER_DOCUMENTS = (
    "identity_document",
    "experience_certificate",
    "financial_statements",
    "capacity_certificate",
)


def labelled(text: str) -> re.Pattern[str]:
    """A field's label exactly (a required field's ends in an asterisk)."""
    return re.compile(rf"^{re.escape(text)}\s*\*?$")


async def submit(page: Page, button: str) -> None:
    """Press a button and wait for the page the portal answers with."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


async def log_in(page: Page, person: Person, then: str = "/mis-registros") -> None:
    await page.goto(then)  # signed out: sent to log in, and back here afterwards
    await page.get_by_label("Usuario").fill(person.username)
    await page.get_by_label("Contraseña").fill(person.password)
    await submit(page, "Ingresar")
    await expect(page.locator(".notice")).to_contain_text("Bienvenido(a)")


@asynccontextmanager
async def another_browser(browser: Browser, portal_url: str, name: str) -> AsyncIterator[Page]:
    """A second person's own browser (no shared cookies), screenshotted like the first."""
    context = await browser.new_context(
        locale="es-CO", timezone_id="America/Bogota", base_url=portal_url
    )
    page = await context.new_page()
    harness.watch(page, name)
    try:
        yield page
        await harness.finish(page)
    finally:
        await context.close()


async def sign_up_through_the_pages(page: Page, person: Person, account_name: str) -> None:
    """ "Registrar usuario", the emailed link, "Confirmar registro", and logging in: on to step
    3 (the users' pages, whose own test checks them closely)."""
    await page.goto("/registro")
    await page.fill("#f-full_name", f"Persona {person.tag}")
    await page.select_option("#f-document_type", "CC")
    await page.fill("#f-document_number", person.document_number)
    await page.fill("#f-email", person.email)
    await page.fill("#f-mobile_phone", "+57 300 " + person.document_number[-7:])
    await page.fill("#f-username", person.username)
    await page.fill("#f-password", person.password)
    await page.fill("#f-password_confirmation", person.password)
    await page.fill("#f-security_question", "¿Ciudad donde nació?")
    await page.fill("#f-security_answer", "Bogotá")
    await page.fill("#f-account_name", account_name)
    await page.check("#f-accept_terms")
    await submit(page, "Registrar usuario")
    [activation] = await person.emails("Activación de su registro")
    [link] = [u for u in links_in(activation) if "/ConfirmAccount?" in u]
    await page.goto(link)
    await submit(page, "Confirmar registro")
    async with page.expect_navigation():
        await page.get_by_role("link", name=re.compile("Ingresar y crear o solicitar")).click()
    await page.get_by_label("Usuario").fill(person.username)
    await page.get_by_label("Contraseña").fill(person.password)
    await submit(page, "Ingresar")
    await expect(page.locator(".notice")).to_contain_text("Bienvenido(a)")


async def open_from_queue(page: Page, number: str) -> None:
    """The agent pages through the filtered queue until the case shows, and opens it."""
    for _ in range(30):
        link = page.get_by_role("link", name=number, exact=True)
        if await link.count():
            async with page.expect_navigation():
                await link.click()
            return
        async with page.expect_navigation():
            await page.get_by_role("link", name="Página siguiente").click()
    raise AssertionError(f"{number} is not in the queue")


async def confirmed_person(cluster: ServiceProcs, mailbox: Mailbox) -> Person:
    """Signed up and confirmed through registration's API (the users' pages have their own
    tests); every step after this one goes through the portal."""
    person = Person(cluster, mailbox)
    await person.sign_up()
    await person.confirm_from_email()
    return person


async def desk_agent(cluster: ServiceProcs, mailbox: Mailbox) -> Person:
    """A confirmed user given the support_agent role by the operator's command (it reaches the
    token at their next login)."""
    agent = await confirmed_person(cluster, mailbox)
    agent.grant_role("support_agent")
    await agent.log_in()
    return agent


async def upload_documents(page: Page, doc_types: tuple[str, ...]) -> None:
    """Each through its own form (static/portal.js posts it and shows the progress)."""
    for doc_type in doc_types:
        await page.set_input_files(
            f"#f-documents-{doc_type}",
            files=[{"name": f"{doc_type}.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        form = page.locator(f"form:has(#f-documents-{doc_type})")
        async with page.expect_navigation():
            await form.get_by_role("button", name="Anexar documento").click()
        await expect(page.locator(".notice")).to_contain_text("Documento anexado")


async def fill_contacts(page: Page, tag: str) -> None:
    await page.get_by_label("Departamento").select_option("CO-DC")
    await page.get_by_label("Municipio").fill("Bogotá")
    await page.get_by_label(labelled("Dirección")).fill("Calle 26 # 69-76")
    await page.get_by_label("Teléfono de oficina").fill("6017956600")
    await page.get_by_label("Correo electrónico de la oficina").fill(f"oficina.{tag}@x.example.co")
    await page.get_by_label("Correo electrónico para notificaciones SECOP II").fill(
        f"notificaciones.{tag}@x.example.co"
    )


async def test_a_person_registers_an_entity_that_the_desk_activates_and_accepts_a_buyer(
    page: Page,
    browser: Browser,
    portal_url: str,
    cluster: ServiceProcs,
    e2e_mailbox: Mailbox,
) -> None:
    admin = Person(cluster, e2e_mailbox)
    tag, nit = admin.tag, a_nit()
    name = f"Alcaldía de Prueba {tag}"
    await sign_up_through_the_pages(page, admin, name)

    # Step 3 of sign-up: "Validar si mi entidad ya existe"; nothing found, "Registrar Entidad".
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Validar si mi entidad ya existe"
    )
    await expect(page.locator('[aria-current="step"]')).to_contain_text("Crear o solicitar acceso")
    await page.get_by_label("NIT").fill(f"{nit}-7")
    await submit(page, "Validar")
    await expect(page.locator("#f-nit-error")).to_contain_text("dígito de verificación")
    await assert_accessible(page)
    await page.get_by_label("NIT").fill(nit)
    await submit(page, "Validar")
    await expect(page.get_by_role("main")).to_contain_text("No ha sido encontrada ninguna Entidad")
    await assert_accessible(page)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Registrar Entidad").click()

    # Part 1 ("Generar formulario"): the name and NIT searched come along.
    await expect(page.get_by_label("Nombre de la Entidad")).to_have_value(name)
    await expect(page.get_by_label("NIT")).to_have_value(nit)
    await assert_accessible(page)
    await page.get_by_label("Entidad Estatal (Entidad Compradora)").check()
    await page.get_by_label("Área de negocio de la Entidad").select_option("public")
    await page.get_by_label("Tipo de organización").select_option("state_entity")
    await submit(page, "Generar formulario")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Registrar Entidad Estatal: ALCALDIA DE PRUEBA {tag.upper()}"  # the name normalised
    )
    account_url = page.url
    await assert_accessible(page)

    # Part 2, with a mistake: said beside the field, the rest kept (the draft is the server's).
    await page.get_by_label("Nombre abreviado").fill("ALCALDIA PRUEBA")
    await page.locator("#f-decentralised-no").check()
    await page.get_by_label(labelled("Orden")).select_option("territorial")
    await page.get_by_label("Rama").select_option("Ejecutiva")
    await page.get_by_label("Sector").fill("Hacienda")
    await page.get_by_label(labelled("Tipo de entidad")).fill("Alcaldía")
    await fill_contacts(page, tag)
    await page.get_by_label("Código postal").fill("11")
    await submit(page, "Guardar borrador")
    await expect(page.locator("#f-postal_code-error")).to_contain_text("de 4 a 10 dígitos")
    await expect(page.locator(".error-summary a[href='#f-postal_code']")).to_be_visible()
    await expect(page.get_by_label("Sector")).to_have_value("Hacienda")
    await assert_accessible(page)
    await page.get_by_label("Código postal").fill("111321")
    await submit(page, "Guardar borrador")
    await expect(page.locator(".notice")).to_contain_text("Borrador guardado")

    # Leaving and coming back: the draft is still there.
    await page.goto("/mis-registros")
    await expect(page.get_by_role("main")).to_contain_text("Borrador")
    await assert_accessible(page)
    await page.get_by_role("link", name=f"ALCALDIA DE PRUEBA {tag.upper()}").click()
    await expect(page.get_by_label("Sector")).to_have_value("Hacienda")

    # "Finalizar" without the documents: the list of what is missing, in Spanish.
    await submit(page, "Finalizar")
    missing = page.locator(".error-summary")
    await expect(missing).to_contain_text("Para finalizar falta lo siguiente")
    await expect(missing).to_contain_text("Registro Único Tributario (RUT): Falta el documento")
    await expect(missing.locator("li")).to_have_count(len(ENTITY_DOCUMENTS))
    await assert_accessible(page)

    # A blocked file type is refused in words; then every document, each with its progress bar.
    await page.set_input_files(
        "#f-documents-rut",
        files=[{"name": "rut.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}],
    )
    # Refused, the portal answers with the form and its error, which the script shows in place.
    rut_form = page.locator("form:has(#f-documents-rut)")
    await rut_form.get_by_role("button", name="Anexar documento").click()
    await expect(page.locator("#f-documents-rut-error")).to_contain_text("no se acepta")
    await assert_accessible(page)
    await upload_documents(page, ENTITY_DOCUMENTS)
    await expect(page.locator("#documentos")).to_contain_text("Tiene todos los documentos")
    await submit(page, "Finalizar")
    await expect(page.locator(".notice")).to_contain_text("espera la activación")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Escritorio")
    await expect(page.get_by_role("main")).to_contain_text("Esperando activación")
    await assert_accessible(page)

    # The activation case is on the entity's desk; an agent finds it in the desk's queue and
    # approves it through the agent's pages.
    async def case_number() -> str | None:
        await page.goto(account_url)
        cases = page.get_by_role("row", name=re.compile(r"CCE-\d{4}-\d+"))
        return await cases.first.locator("th").inner_text() if await cases.count() else None

    number = await eventually(case_number, 60, what="the activation case on the desk")
    agent = await desk_agent(cluster, e2e_mailbox)
    async with another_browser(browser, portal_url, f"test_accounts_desk_{tag}") as desk:
        await log_in(desk, agent, then="/mesa/casos")
        await desk.get_by_label("Asunto").select_option(label=ACTIVATION_SUBJECT)
        await submit(desk, "Filtrar")
        await open_from_queue(desk, number)
        await expect(desk.get_by_role("heading", level=1)).to_have_text(f"Caso {number}")
        await expect(desk.get_by_role("main")).to_contain_text("rut.pdf")  # the documents
        # Only the agent working the case downloads them: not before taking it.
        await expect(desk.get_by_role("link", name="Descargar rut.pdf")).to_have_count(0)
        document = f"/mesa/casos/{number}/documentos/rut"
        refused = await desk.request.get(document)
        assert refused.status == 403 and "Solo el agente asignado" in await refused.text()
        await assert_accessible(desk)
        await submit(desk, "Asignarme el caso")
        await expect(desk.get_by_role("link", name="Descargar rut.pdf")).to_be_visible()

        async def downloaded() -> bool:  # membership hears of the assignment a moment later
            answer = await desk.request.get(document)
            return answer.status == 200 and (await answer.body()).startswith(b"%PDF")

        await eventually(downloaded, 60, what="the assigned agent's download")
        await submit(desk, "Aprobar la activación")
        await expect(desk.locator(".notice")).to_contain_text("Aprobado")

    async def active() -> bool:
        await page.goto(account_url)
        return "Activa" in await page.locator(".badge").first.inner_text()

    await eventually(active, 60, what="the entity's activation")
    await assert_accessible(page)

    # A second person finds the entity and asks for access; the administrator accepts them.
    buyer = await confirmed_person(cluster, e2e_mailbox)
    async with another_browser(browser, portal_url, f"test_accounts_buyer_{tag}") as other:
        await log_in(other, buyer, then="/entidades/buscar")
        await other.get_by_label("NIT").fill(nit)
        await submit(other, "Validar")
        row = other.get_by_role("row", name=f"ALCALDIA DE PRUEBA {tag.upper()}")
        await expect(row).to_contain_text(nit)
        await assert_accessible(other)
        async with other.expect_navigation():
            await row.get_by_role("button", name="Solicitar acceso").click()
        await expect(other.get_by_role("heading", level=1)).to_have_text("Mis registros")
        await expect(other.get_by_role("main")).to_contain_text("Esperando aprobación")
        await assert_accessible(other)

        [notice] = await admin.emails("Solicitud de acceso")
        assert buyer.email in notice["Text"]
        await page.goto(account_url)
        await expect(page.get_by_role("main")).to_contain_text(f"({buyer.email}) está solicitando")
        async with page.expect_navigation():
            await page.get_by_role("link", name="Administración de usuarios").first.click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Administración de usuarios"
        )
        await assert_accessible(page)
        request_row = page.get_by_role("row", name=f"Persona {buyer.tag}")
        await expect(request_row).to_contain_text("Esperando aprobación")
        await expect(request_row.get_by_label("Usuario Comprador")).to_be_checked()
        async with page.expect_navigation():
            await request_row.get_by_role("button", name="Aceptar acceso").click()
        await expect(page.locator(".notice")).to_contain_text("Acceso aceptado")
        await expect(request_row).to_contain_text("Aceptado")
        await expect(request_row).to_contain_text("Usuario Comprador")
        await assert_accessible(page)

        await buyer.emails("fue aceptada")
        await other.goto("/mis-registros")
        mine = other.get_by_role("row", name=f"ALCALDIA DE PRUEBA {tag.upper()}")
        await expect(mine).to_contain_text("Aceptado")
        await expect(mine).to_contain_text("Usuario Comprador")
        await expect(mine).to_contain_text("Activa")
        # The new buyer's desk of the account, and their notice choices.
        async with other.expect_navigation():
            await mine.get_by_role("link").click()
        await expect(other.get_by_role("heading", level=1)).to_contain_text("Escritorio")
        await expect(other.get_by_role("link", name="Administración de usuarios")).to_have_count(0)
        await assert_accessible(other)
        await other.get_by_role("link", name="Suscripción a notificaciones").click()
        await other.get_by_label("Novedades de los casos de la Mesa de Servicio").check()
        await submit(other, "Guardar preferencias")
        await expect(other.locator(".notice")).to_contain_text("quedaron guardadas")
        await expect(
            other.get_by_label("Novedades de los casos de la Mesa de Servicio")
        ).to_be_checked()
        await assert_accessible(other)


async def test_an_invited_person_joins_through_the_emailed_link(
    page: Page,
    browser: Browser,
    portal_url: str,
    cluster: ServiceProcs,
    e2e_mailbox: Mailbox,
) -> None:
    """ "Crear usuarios": the invitee opens the link signed out, logs in, and accepts; the token
    never appears in an address after the emailed one."""
    admin = await confirmed_person(cluster, e2e_mailbox)
    await admin.log_in()
    account_id, _ = await register_entity(admin)
    await approve(await desk_agent(cluster, e2e_mailbox), account_id)
    await log_in(page, admin, then=f"/cuentas/{account_id}/usuarios")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Administración de usuarios")

    invitee = await confirmed_person(cluster, e2e_mailbox)
    await page.get_by_label(labelled("Nombre")).fill("Beatriz 2")
    await page.get_by_label(labelled("Correo electrónico")).fill(invitee.email)
    await submit(page, "Enviar invitación")
    await expect(page.locator("#f-name-error")).to_contain_text("solo el nombre")
    await expect(page.get_by_label(labelled("Correo electrónico"))).to_have_value(invitee.email)
    await assert_accessible(page)
    await page.get_by_label(labelled("Nombre")).fill("Beatriz Compradora")
    await submit(page, "Enviar invitación")
    await expect(page.locator(".notice")).to_contain_text(f"Invitación enviada a {invitee.email}")
    await expect(page.get_by_role("row", name="Beatriz Compradora")).to_contain_text("Reenviar")
    await assert_accessible(page)

    [mail] = await invitee.emails("Invitación para unirse")
    [link] = [u for u in links_in(mail) if "/AcceptInvitation?" in u]
    assert link.startswith(f"{portal_url}/AcceptInvitation?token=")
    addresses: list[str] = []
    async with another_browser(browser, portal_url, f"test_accounts_invitee_{invitee.tag}") as b:
        b.on("request", lambda r: addresses.append(r.url))
        await b.goto(link)
        assert b.url == f"{portal_url}/AcceptInvitation"  # the token left the address bar
        await assert_accessible(b)
        async with b.expect_navigation():
            await b.get_by_role("link", name="Ingresar para aceptar la invitación").click()
        await b.get_by_label("Usuario").fill(invitee.username)
        await b.get_by_label("Contraseña").fill(invitee.password)
        await submit(b, "Ingresar")
        assert b.url == f"{portal_url}/AcceptInvitation"
        await assert_accessible(b)
        await submit(b, "Aceptar invitación")
        await expect(b.locator(".notice")).to_contain_text("Ya es miembro")
        await expect(b.locator(".notice")).to_contain_text("Usuario Comprador")
        await assert_accessible(b)
    token = link.split("token=", 1)[1]
    assert [u for u in addresses if token in u] == [link]  # only the emailed link held it


async def test_a_supplier_registers_with_documents_and_a_buyer_finds_it_in_the_directory(
    page: Page,
    browser: Browser,
    portal_url: str,
    cluster: ServiceProcs,
    e2e_mailbox: Mailbox,
) -> None:
    supplier = await confirmed_person(cluster, e2e_mailbox)
    tag, nit = supplier.tag, a_nit()
    await log_in(page, supplier, then="/cuentas/nueva")

    # A natural-person supplier: its ID replaces the certificate of existence.
    await page.get_by_label("Proveedor", exact=True).check()
    await page.get_by_label("Área de negocio de la Entidad").select_option("private")
    await page.get_by_label("Tipo de organización").select_option("natural_person")
    await page.get_by_label("Nombre de la Entidad").fill(f"Proveedora {tag}")
    await page.get_by_label(labelled("Tipo de documento")).select_option("CC")
    await page.get_by_label("NIT").fill(nit)
    await submit(page, "Generar formulario")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Registrar Proveedor")
    await expect(page.locator("#documentos")).to_contain_text("Documento de identidad")
    await expect(page.locator("#documentos")).not_to_contain_text("Certificado de existencia")

    await page.get_by_label("Nombre abreviado").fill("PROVEEDORA")
    await page.locator("#f-msme").check()
    await page.get_by_label("Régimen tributario").fill("No responsable de IVA")
    await fill_contacts(page, tag)
    await page.get_by_label("Nombre del representante legal").fill(f"Persona {tag}")
    await page.get_by_label("Número de documento del representante legal").fill(
        supplier.document_number
    )
    await page.get_by_label("Patrimonio").fill("150.000.000")  # thousands separators: refused
    await submit(page, "Guardar borrador")
    await expect(page.locator("#f-financial-equity-error")).to_contain_text("sin puntos de miles")
    await assert_accessible(page)
    await page.get_by_label("Patrimonio").fill("150000000")
    await upload_documents(page, SUPPLIER_DOCUMENTS)  # the draft was kept: nothing retyped
    await expect(page.get_by_label("Régimen tributario")).to_have_value("No responsable de IVA")
    await expect(page.get_by_label("Patrimonio")).to_have_value("")  # never saved: refused
    await page.get_by_label("Patrimonio").fill("150000000")
    await submit(page, "Finalizar")
    await expect(page.locator(".notice")).to_contain_text("quedó activa")
    await expect(page.get_by_role("main")).to_contain_text("Activa")
    await assert_accessible(page)

    # Its library: a document any buyer may read.
    await page.get_by_role("link", name="Biblioteca de documentos").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Biblioteca de documentos")
    await page.get_by_label("Título").fill("Portafolio de servicios")
    await page.set_input_files(
        "#f-file", files=[{"name": "portafolio.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await submit(page, "Agregar documento")
    await expect(page.locator(".notice")).to_contain_text("Portafolio de servicios")
    await assert_accessible(page)

    # A member of an active entity finds it in the directory and downloads its documents.
    buyer = await confirmed_person(cluster, e2e_mailbox)
    await buyer.log_in()
    entity_id, _ = await register_entity(buyer)
    await approve(await desk_agent(cluster, e2e_mailbox), entity_id)
    async with another_browser(browser, portal_url, f"test_accounts_directory_{tag}") as other:
        await log_in(other, buyer, then="/proveedores")

        async def listed() -> bool:
            await other.goto(f"/proveedores?q={nit}")
            return await other.get_by_role("heading", name=f"PROVEEDORA {tag.upper()}").count() == 1

        await eventually(listed, 60, what="the supplier in the directory")
        await assert_accessible(other)
        profile = other.locator("section.supplier")
        await expect(profile).to_contain_text(nit)
        await expect(profile).not_to_contain_text("Documento de identidad")  # a person's ID
        async with other.expect_download() as waiting:
            await profile.get_by_role("link", name="Descargar Certificado de experiencia").click()
        downloaded = await waiting.value
        assert downloaded.suggested_filename == "experience_certificate.pdf"
        assert (await downloaded.path()).read_bytes() == PDF
        async with other.expect_navigation():
            await profile.get_by_role("link", name="Biblioteca de documentos").click()
        await expect(other.get_by_role("main")).to_contain_text("Portafolio de servicios")
        await expect(other.get_by_role("button", name="Quitar")).to_have_count(0)  # a reader
        await assert_accessible(other)
        async with other.expect_download() as waiting:
            await other.get_by_role("link", name="Descargar portafolio.pdf").click()
        assert (await waiting.value).suggested_filename == "portafolio.pdf"

    # The supplier's administrators see who outside read their documents.
    reads = await supplier_reads(supplier, buyer)
    assert {"experience_certificate"} <= reads


async def supplier_reads(supplier: Person, buyer: Person) -> set[str]:
    await supplier.log_in()
    mine = await supplier.call("membership", "GET", "/users/me/memberships")
    [account_id] = [m["account_id"] for m in mine.json()]
    reads = await supplier.call("membership", "GET", f"/accounts/{account_id}/document-reads")
    return {r["doc_type"] for r in reads.json()["items"] if r["reader_id"] == buyer.user_id}
