"""The account pages' own rules, with no service behind them: the form read from a browser's
fields and shown again, the documents an account takes, membership's refusals in Spanish, and
the invitation link's token kept out of every address but the emailed one."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from portal.adapters.backend import ApiError
from portal.app import create_app
from portal.config import Settings
from portal.entrypoints.account_common import seg
from portal.service_layer import account_forms as af

pytestmark = pytest.mark.unit


def refusal(status: int, detail: object, **extra: object) -> ApiError:
    return ApiError(httpx.Response(status, json={"detail": detail, **extra}))


def test_a_supplier_form_becomes_membership_body_with_groups_and_blanks_cleared():
    body, errors = af.form_to_fields(
        "supplier",
        {
            "legal_name": " Proveedora  S.A.S. ",
            "short_name": "",
            "business_area": "private",
            "organisation_type": "sas",
            "msme": "false",
            "social_links": "https://a.example\n\nhttps://b.example ",
            "legal_representative.full_name": "Ana Pérez",
            "legal_representative.document_number": "",
            "financial.year": "2025",
            "financial.equity": "1500000,5",
            "bank_account.bank": "",
            "pci_code": "smuggled",  # an entity's field: never sent for a supplier
        },
    )
    assert errors == {}
    assert body["legal_name"] == "Proveedora  S.A.S."  # membership normalises it
    assert body["short_name"] is None and body["country"] == "CO"
    assert body["msme"] is False
    assert body["social_links"] == ["https://a.example", "https://b.example"]
    assert body["legal_representative"] == {"full_name": "Ana Pérez"}
    assert body["financial"] == {"year": 2025, "equity": 1500000.5}
    assert body["bank_account"] is None
    assert "pci_code" not in body and "nit" not in body and "kind" not in body


def test_local_mistakes_are_said_in_spanish_and_left_out_of_what_is_saved():
    body, errors = af.form_to_fields(
        "entity",
        {
            "legal_name": " ",
            "organisation_type": "sas",
            "decentralised": "false",
            "parent_nit": "12-3",
            "siif_registered": "true",
        },
    )
    assert set(errors) == {"legal_name", "organisation_type", "parent_nit"}
    assert "dígitos" in errors["parent_nit"]
    assert body["decentralised"] is False and body["parent_account_id"] is None
    assert body["siif_registered"] is True and "legal_name" not in body
    kept = af.without(body, errors)
    assert "organisation_type" not in kept and kept["decentralised"] is False


def test_thousands_separators_and_odd_years_are_refused_rather_than_guessed():
    body, errors = af.form_to_fields(
        "supplier", {"legal_name": "X", "financial.equity": "1.500.000", "financial.year": "25"}
    )
    assert errors["financial.equity"] == "Escriba solo números, sin puntos de miles."
    assert "cuatro dígitos" in errors["financial.year"]
    assert body["financial"] is None


def test_without_drops_one_figure_of_a_group_or_a_whole_field():
    body = {"financial": {"equity": 1.0, "year": 2025}, "phone": "x", "legal_representative": {}}
    kept = af.without(body, {"financial.equity": "", "phone": "", "legal_representative": ""})
    assert kept == {"financial": {"year": 2025}}
    assert af.without({"financial": {"equity": 1.0}}, ["financial.equity"]) == {"financial": None}


def test_the_stored_form_is_shown_again_under_the_pages_field_names():
    values = af.account_to_values(
        {
            "legal_name": "X",
            "msme": True,
            "decentralised": False,
            "legal_representative": {"full_name": "Ana", "email": None},
            "financial": {"equity": 1500000.0, "total_assets": 2.5},
            "social_links": ["https://a.example", "https://b.example"],
            "documents": [{"doc_type": "rut"}],
        }
    )
    assert values["msme"] == "true" and values["decentralised"] == "false"
    assert values["legal_representative.full_name"] == "Ana"
    assert values["legal_representative.email"] == ""
    assert values["financial.equity"] == "1500000" and values["financial.total_assets"] == "2.5"
    assert values["social_links"] == "https://a.example\nhttps://b.example"
    assert "documents" not in values


def test_each_kind_of_account_lists_the_documents_membership_asks_for():
    entity = af.documents_for(
        {"kind": "entity", "business_area": "public", "documents": [{"doc_type": "rut"}]}
    )
    required = {d["doc_type"] for d in entity if d["required"]}
    assert required == {"structure_act", "spending_authority_act", "admin_authorisation", "rut"}
    assert next(d for d in entity if d["doc_type"] == "rut")["stored"] == {"doc_type": "rut"}
    private = af.documents_for({"kind": "entity", "business_area": "private"})
    assert next(d for d in private if d["doc_type"] == "existence_certificate")["required"]

    person = {
        d["doc_type"]
        for d in af.documents_for({"kind": "supplier", "organisation_type": "natural_person"})
    }
    company = {
        d["doc_type"] for d in af.documents_for({"kind": "supplier", "organisation_type": "sas"})
    }
    assert "identity_document" in person and "existence_certificate" not in person
    assert "existence_certificate" in company and "identity_document" not in company
    assert "rup" in company


def test_finalizar_refusal_becomes_a_spanish_list_linked_to_fields_and_documents():
    error = refusal(
        422,
        [
            {"loc": ["body", "short_name"], "msg": "required before submitting", "type": "missing"},
            {
                "loc": ["body", "legal_representative"],
                "msg": "required before submitting",
                "type": "missing",
            },
            {
                "loc": ["body", "documents.rut"],
                "msg": "document required before submitting",
                "type": "missing",
            },
            {
                "loc": ["body", "decentralised"],
                "msg": "say whether the entity is decentralised",
                "type": "missing",
            },
        ],
    )
    items = af.missing_items(error)
    assert [i["field"] for i in items] == [
        "short_name",
        "legal_representative.full_name",  # a group links to its first field
        "documents.rut",
        "decentralised",
    ]
    assert items[0] == {
        "field": "short_name",
        "label": "Nombre abreviado",
        "message": "Falta este dato.",
    }
    assert items[2]["label"] == "Registro Único Tributario (RUT)"
    assert items[2]["message"] == "Falta el documento."
    assert items[3]["message"] == "Indique si la Entidad es descentralizada."


NIT_HYPHEN = "write the NIT without the verification digit (nothing after the hyphen)"
DRAFTS = "you already have 3 draft accounts: finish or discard one first"
ROLE = "not a role of this account: supplier (allowed: administrator, buyer)"


@pytest.mark.parametrize(
    ("field", "kind", "message", "spanish"),
    [
        ("nit", "invalid", NIT_HYPHEN, "dígito de verificación"),
        ("nit", "conflict", "the NIT 900123456 already has an account", "Ya existe una cuenta"),
        ("nit", "too_many_drafts", DRAFTS, "3 cuentas en borrador"),
        ("phone", "invalid", "write the phone without an extension", "sin extensión"),
        ("postal_code", "string_pattern_mismatch", "String should match", "de 4 a 10 dígitos"),
        ("office_email", "value_error", "value is not a valid email address: x", "correo válido"),
        ("municipality", "invalid", "no municipality 'Gotham' in CO-CUN", "No encontramos"),
        ("roles", "invalid", ROLE, "roles"),
    ],
)
def test_membership_refusals_are_said_in_spanish(field, kind, message, spanish):
    error = refusal(422, [{"loc": ["body", field], "msg": message, "type": kind}])
    said = af.field_errors(error)[field]
    assert spanish in said
    assert message not in said


def test_roles_follow_the_kind_of_account_and_the_mixed_profile():
    assert af.roles_for("supplier") == ["administrator", "supplier"]
    assert af.roles_for("entity") == ["administrator", "buyer"]
    assert af.roles_for("entity", mixed_profile=True) == ["administrator", "buyer", "supplier"]


def test_sizes_read_as_people_read_them():
    assert af.size(77) == "77 bytes"
    assert af.size(1536) == "1,5 KB"
    assert af.size(3 * 1024 * 1024) == "3,0 MB"


def test_an_id_from_the_pages_address_stays_one_segment_of_membership_address():
    assert seg("abc") == "abc"
    assert seg("x?status=accepted") == "x%3Fstatus%3Daccepted"
    assert seg("../../users/me") == "%2E%2E%2F%2E%2E%2Fusers%2Fme"


@pytest.fixture
def client() -> TestClient:
    settings = Settings(portal_session_key="k" * 40, portal_secure_cookies=True)
    return TestClient(
        create_app(settings), base_url="https://portal.example.co", follow_redirects=False
    )


def test_the_invitation_token_leaves_the_address_for_an_encrypted_cookie_of_its_page(client):
    token = "acc.inv.SECRET-token-value"
    opened = client.get(f"/AcceptInvitation?token={token}")
    assert opened.status_code == 303 and opened.headers["location"] == "/AcceptInvitation"
    cookie = next(
        c for c in opened.headers.get_list("set-cookie") if c.startswith("secop_invitation=")
    )
    assert token not in cookie and "SECRET" not in cookie
    assert "HttpOnly" in cookie and "Secure" in cookie and "Path=/AcceptInvitation" in cookie
    assert "SameSite=lax" in cookie

    # Signed out: log in (or sign up) first, and back to the bare page, never to the token.
    page = client.get("/AcceptInvitation")
    assert page.status_code == 200 and "Ingresar para aceptar la invitación" in page.text
    assert token not in page.text
    assert "/ingresar?siguiente=%2FAcceptInvitation" in page.text


def test_an_invitation_page_without_its_cookie_asks_to_open_the_link_again(client):
    page = client.get("/AcceptInvitation")
    assert page.status_code == 200 and "abra de nuevo el enlace" in page.text
    client.cookies.set("secop_invitation", "not-ours", domain="portal.example.co")
    assert "abra de nuevo el enlace" in client.get("/AcceptInvitation").text
