"""The domain's flows end to end, driven only as a person would: HTTP and emails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from secop_devinfra.cluster import ServiceProcs

from tests.e2e.person import (
    Person,
    a_nit,
    approve,
    common_form,
    register_entity,
    submit_account,
    token_from,
)
from tests.support.mailbox import Mailbox, links_in
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

SUPPLIER_DOCUMENTS = (
    "identity_document",
    "experience_certificate",
    "financial_statements",
    "capacity_certificate",
)


@pytest.fixture
async def agent(cluster: ServiceProcs, e2e_mailbox: Mailbox) -> Person:
    person = await Person(cluster, e2e_mailbox).become_user()
    person.grant_role("support_agent")
    await person.log_in()  # roles reach the token at the next login
    return person


async def test_a_buyer_entity_is_registered_and_activated_by_the_service_desk(
    cluster: ServiceProcs, e2e_mailbox: Mailbox, agent: Person
) -> None:
    admin = await Person(cluster, e2e_mailbox).become_user()
    account_id, form = await register_entity(admin)
    await admin.emails("Recibimos el registro")

    # The agent reads the entity's documents only once they work its activation case.
    rut = f"/accounts/{account_id}/documents/rut"
    assert (await agent.call("membership", "GET", rut)).status_code == 403
    case = await eventually(lambda: _case_for(agent, account_id))
    taken = await agent.call("support", "POST", f"/cases/{case['case_number']}/assign")
    assert taken.status_code == 200, taken.text

    async def reads(expected: int) -> bool:
        return (await agent.call("membership", "GET", rut)).status_code == expected

    await eventually(lambda: reads(200))
    await approve(agent, account_id)
    await eventually(lambda: reads(403))  # the approval resolved the case
    [activated] = await e2e_mailbox.wait_for(
        form["notification_email"], subject="está activa", timeout=60
    )
    assert f"ALCALDIA DE PRUEBA {admin.tag.upper()}" in activated["Text"]  # normalised name

    async def active() -> bool:
        found = await admin.call("membership", "GET", "/accounts", params={"nit": form["nit"]})
        return found.json() and found.json()[0]["status"] == "active"

    await eventually(active)


async def test_a_buyer_user_joins_an_entity_through_every_administrator_decision(
    cluster: ServiceProcs, e2e_mailbox: Mailbox
) -> None:
    admin = await Person(cluster, e2e_mailbox).become_user()
    account_id, _ = await register_entity(admin)
    user = await Person(cluster, e2e_mailbox).become_user()

    requested = await user.call("membership", "POST", f"/accounts/{account_id}/access-requests")
    assert requested.status_code == 201 and requested.json()["status"] == "pending"
    [notice] = await admin.emails("Solicitud de acceso")
    assert user.email in notice["Text"]

    member = f"/accounts/{account_id}/members/{user.user_id}"
    rejected = await admin.call("membership", "POST", f"{member}/reject", json={"reason": "No"})
    assert rejected.status_code == 200, rejected.text
    await user.emails("fue rechazada")
    assert (await admin.call("membership", "POST", f"{member}/revert-rejection")).status_code == 200
    accepted = await admin.call("membership", "POST", f"{member}/accept", json={"roles": ["buyer"]})
    assert accepted.status_code == 200, accepted.text
    await user.emails("fue aceptada")

    mine = await user.call("membership", "GET", "/users/me/memberships")
    assert [m["status"] for m in mine.json() if m["account_id"] == account_id] == ["accepted"]
    assert (await admin.call("membership", "POST", f"{member}/cancel")).status_code == 200
    await user.emails("fue cancelado")
    again = await admin.call("membership", "POST", f"{member}/accept", json={"roles": ["buyer"]})
    assert again.status_code == 409  # cancelled is final


async def test_an_administrator_invites_a_buyer_who_joins_with_the_invited_roles(
    cluster: ServiceProcs, e2e_mailbox: Mailbox, agent: Person
) -> None:
    admin = await Person(cluster, e2e_mailbox).become_user()
    account_id, _ = await register_entity(admin)
    await approve(agent, account_id)  # only an active account invites

    async def active() -> bool:
        desk = await admin.call("membership", "GET", f"/accounts/{account_id}/desk")
        return desk.json()["account"]["status"] == "active"

    await eventually(active)
    invitee = Person(cluster, e2e_mailbox)  # has no user yet
    invitations = f"/accounts/{account_id}/invitations"
    invited = await admin.call(
        "membership",
        "POST",
        invitations,
        json={"name": "Beatriz Compradora", "email": invitee.email, "roles": ["buyer"]},
    )
    assert invited.status_code == 201, invited.text
    desk = (await admin.call("membership", "GET", f"/accounts/{account_id}/desk")).json()
    assert [i["email"] for i in desk["pending_invitations"]] == [invitee.email]

    [mail] = await invitee.emails("Invitación para unirse")
    assert "Usuario Comprador" in mail["Text"]
    [link] = [u for u in links_in(mail) if "AcceptInvitation" in u]
    await invitee.become_user()  # signs up with the invited address, confirms, logs in
    accepted = await invitee.call(
        "membership", "POST", "/invitations/accept", json={"token": token_from(link, "token")}
    )
    assert accepted.status_code == 200, accepted.text
    again = await invitee.call(
        "membership", "POST", "/invitations/accept", json={"token": token_from(link, "token")}
    )
    assert again.status_code == 400 and again.json()["reason"] == "used", again.text

    mine = await invitee.call("membership", "GET", "/users/me/memberships")
    [membership] = [m for m in mine.json() if m["account_id"] == account_id]
    assert (membership["status"], membership["roles"]) == ("accepted", ["buyer"])
    desk = (await admin.call("membership", "GET", f"/accounts/{account_id}/desk")).json()
    assert desk["pending_invitations"] == []
    members = await admin.call("membership", "GET", f"/accounts/{account_id}/members")
    assert invitee.email in [m["email"] for m in members.json() if m["status"] == "accepted"]
    # the new buyer chooses to follow the account's case updates, and sees its desk
    chosen = await invitee.call(
        "membership", "PUT", f"/accounts/{account_id}/notices", json={"notices": ["case_updates"]}
    )
    assert chosen.status_code == 200 and chosen.json()["notices"] == ["case_updates"], chosen.text
    buyer_desk = await invitee.call("membership", "GET", f"/accounts/{account_id}/desk")
    assert buyer_desk.status_code == 200 and buyer_desk.json()["administrator"] is False


async def test_a_natural_person_supplier_is_active_at_once_and_found_in_the_directory(
    cluster: ServiceProcs, e2e_mailbox: Mailbox, agent: Person
) -> None:
    supplier = await Person(cluster, e2e_mailbox).become_user()
    nit = a_nit()
    form = {
        **common_form(supplier, f"Proveedora {supplier.tag}", nit),
        "kind": "supplier",
        "business_area": "private",
        "organisation_type": "natural_person",
        "msme": True,
        "tax_regime": "No responsable de IVA",
        "legal_representative": {
            "full_name": f"Persona {supplier.tag}",
            "document_number": supplier.document_number,
        },
    }
    account_id, submitted = await submit_account(supplier, form, SUPPLIER_DOCUMENTS)
    assert submitted["status"] == "active", submitted

    buyer = await Person(cluster, e2e_mailbox).become_user()
    entity_id, _ = await register_entity(buyer)
    case = await eventually(lambda: _case_for(agent, entity_id))
    await agent.call(
        "support",
        "POST",
        f"/cases/{case['case_number']}/activation",
        json={"decision": "approve", "message": "OK"},
    )

    async def listed() -> Any:
        r = await buyer.call("membership", "GET", "/directory/suppliers", params={"q": nit})
        return r.status_code == 200 and r.json()["items"]

    [profile] = await eventually(listed)
    assert profile["account_id"] == account_id
    # A natural person's ID document stays with their account: the directory lists the rest.
    listed_types = {d["doc_type"] for d in profile["documents"]}
    assert len(listed_types) == 3 and "identity_document" not in listed_types


async def _case_for(agent: Person, account_id: str) -> Any:
    queue = await agent.call("support", "GET", "/cases", params={"status": "open"})
    return next((c for c in queue.json()["items"] if c.get("account_id") == account_id), None)


async def test_lost_credentials_are_recovered_by_every_key_and_only_the_newest_link_works(
    cluster: ServiceProcs, e2e_mailbox: Mailbox
) -> None:
    person = await Person(cluster, e2e_mailbox).become_user()
    keys = {
        "document_number": person.document_number,
        "email": person.email,
        "mobile_phone": "+57300" + person.document_number[-7:],
        "username": person.username,
    }
    for n, (key, value) in enumerate(keys.items(), start=1):
        r = await person.call("registration", "POST", "/recovery/username", json={key: value})
        assert r.status_code == 202
        messages = await person.emails("Recuperación de su usuario", count=n)
        newest = messages[0]["Text"]
        if key in ("document_number", "email"):
            assert person.username in newest
        else:
            assert person.email not in newest and "***" in newest

    for _ in range(2):
        r = await person.call(
            "registration", "POST", "/recovery/password", json={"username": person.username}
        )
        assert r.status_code == 202
        if _ == 0:
            await person.emails("Recuperación de su contraseña")
            await asyncio.sleep(2.5)  # one email per EMAIL_MIN_INTERVAL_S (2 s here) per user
    newest, older = await person.emails("Recuperación de su contraseña", count=2)
    reset = {
        "new_password": "Otra-Clave-Segura-99!",
        "new_password_confirmation": "Otra-Clave-Segura-99!",
    }
    link_of = lambda m: token_from(next(u for u in links_in(m) if "ChangePassword" in u), "token")  # noqa: E731
    stale = await person.call(
        "registration", "POST", "/recovery/password/reset", json={"token": link_of(older), **reset}
    )
    assert stale.status_code == 400
    fresh = await person.call(
        "registration", "POST", "/recovery/password/reset", json={"token": link_of(newest), **reset}
    )
    assert fresh.status_code == 204, fresh.text
    twice = await person.call(
        "registration", "POST", "/recovery/password/reset", json={"token": link_of(newest), **reset}
    )
    assert twice.status_code == 400
    person.password = reset["new_password"]
    await person.log_in()
    await person.emails("contraseña de SECOP fue cambiada")


async def test_a_support_case_is_opened_answered_and_resolved_by_email(
    cluster: ServiceProcs, e2e_mailbox: Mailbox, agent: Person
) -> None:
    requester = Person(cluster, e2e_mailbox)  # no account at all
    opened = await requester.call(
        "support",
        "POST",
        "/cases",
        json={
            "requester": {
                "full_name": "Ciudadana Prueba",
                "document_number": "52111222",
                "email": requester.email,
                "phone": "6015555555",
            },
            "system": "SECOP_II",
            "request_type": "solicitud",
            "subject": "Recuperación de usuario",
            "user_type": "ciudadano",
            "description": "Perdí mi usuario y no recuerdo el correo.",
        },
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["case_number"]
    [created] = await requester.emails(number)
    assert number in created["Subject"]

    answer = await agent.call(
        "support",
        "POST",
        f"/cases/{number}/messages",
        json={"body": "Le enviamos los datos a su correo registrado."},
    )
    assert answer.status_code == 201, answer.text
    [reply] = await requester.emails("Respuesta de la Mesa de Servicio")
    assert "correo registrado" in reply["Text"]
    resolved = await agent.call(
        "support",
        "POST",
        f"/cases/{number}/resolve",
        json={"resolution": "Datos enviados al correo registrado."},
    )
    assert resolved.status_code == 200, resolved.text
    await requester.emails("fue resuelto")
    # The opening email gave the requester the case's access key, as a person would read it.
    text = created["Text"]
    key = text.split("esta clave de acceso:", 1)[1].split()[0]
    followed = await requester.call(
        "support",
        "GET",
        f"/cases/{number}",
        params={"email": requester.email},
        headers={"X-Case-Key": key},
    )
    assert followed.json()["status"] == "resolved"
