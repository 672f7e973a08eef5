"""Pure rules of the membership service: names, places, documents, submission, memberships."""

from __future__ import annotations

import pytest
from membership.domain import documents, forms, location, memberships, names

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alcaldía de Bello", "ALCALDIA DE BELLO"),
        ("  construcciones   ñandú s.a.s. ", "CONSTRUCCIONES NANDU SAS"),
        ("Hospital San José-Sede Norte", "HOSPITAL SAN JOSE - SEDE NORTE"),
        ("Empresa  –  Aguas & Aseo (EPM)", "EMPRESA - AGUAS ASEO EPM"),
        ("Bogotá, D.C.", "BOGOTA DC"),
        ("--Fundación ¡Ayuda!--", "FUNDACION AYUDA"),
    ],
)
def test_legal_names_are_written_the_secop_way(raw, expected):
    assert names.legal_name(raw) == expected


def test_the_search_key_ignores_case_accents_punctuation_and_hyphens():
    assert names.search_key("Hospital San José - Sede Norte") == "hospital san jose sede norte"
    assert names.search_key("HOSPITAL san jose-sede") in names.search_key(
        "Hospital San José - Sede"
    )
    assert names.short_name(" sena  regional ") == "SENA REGIONAL"


def test_departments_are_found_by_iso_code_or_name():
    assert location.department_code("CO", "co-ant") == "CO-ANT"
    assert location.department_code("CO", "ANT") == "CO-ANT"
    assert location.department_code("CO", "atlántico") == "CO-ATL"
    assert location.department_code("CO", "Bogotá D.C.") == "CO-DC"
    with pytest.raises(location.LocationError) as refused:
        location.department_code("CO", "Atlantida")
    assert refused.value.field == "department"


def test_municipalities_are_checked_against_divipola_only_when_configured():
    table = location.Municipalities()
    assert location.municipality("CO", "CO-ANT", "Gotham", table) == ("Gotham", None)
    table.add("05001", "MEDELLÍN")
    table.add("5088", "BELLO")
    assert location.municipality("CO", "CO-ANT", "medellin", table) == ("MEDELLÍN", "05001")
    assert location.municipality("CO", "CO-ANT", "05088", table) == ("BELLO", "05088")
    for department, town in (("CO-VAC", "Medellín"), ("CO-ANT", "Gotham")):
        with pytest.raises(location.LocationError):
            location.municipality("CO", department, town, table)
    with pytest.raises(location.LocationError):
        location.municipality("CO", "CO-ANT", "  ", table)


def test_documents_depend_on_kind_and_organisation_type():
    entity = documents.required_documents("entity", "state_entity", private_body=False)
    private = documents.required_documents("entity", "other_public", private_body=True)
    assert len(entity) == 4 and set(private) - set(entity) == {"existence_certificate"}
    person = documents.allowed_documents("supplier", "natural_person")
    company = documents.allowed_documents("supplier", "sas")
    assert "identity_document" in person and "existence_certificate" not in person
    assert "existence_certificate" in company and "identity_document" not in company
    assert "rup" in company and "rup" not in documents.required_documents("supplier", "sas", False)


@pytest.mark.parametrize("filename", ["a.exe", "b.TXT", "c.pptx", "d.gif", "e", "f.csv"])
def test_blocked_or_unknown_extensions_are_refused(filename):
    with pytest.raises(documents.FileRefused) as refused:
        documents.check_extension(filename)
    assert refused.value.status == 415


def test_content_must_match_the_extension():
    assert documents.check_extension("C:\\scans\\RUT.PDF") == "pdf"
    documents.check_content("pdf", "pdf")
    documents.check_content("jpeg", "jpg")
    for sniffed in (None, "png", "zip"):
        with pytest.raises(documents.FileRefused):
            documents.check_content("pdf", sniffed)


def test_nit_and_phone_rules():
    assert forms.nit_error("899999001") is None
    assert "verification digit" in forms.nit_error("899999001-7")
    assert forms.nit_error("899.999.001") is not None
    assert forms.phone_error("+57 604 5551234") is None
    assert "extension" in forms.phone_error("6045551234 ext 12")


def test_submission_lists_every_missing_field_and_document():
    draft = {"kind": "supplier", "organisation_type": "natural_person", "legal_name": "X"}
    missing = dict(forms.missing_items(draft, {"experience_certificate"}))
    assert "nit" in missing and "legal_representative" in missing and "msme" in missing
    assert "documents.identity_document" in missing
    assert "documents.existence_certificate" not in missing
    assert "documents.experience_certificate" not in missing
    entity = {"kind": "entity", "siif_registered": True, "decentralised": False}
    assert "pci_code" in dict(forms.missing_items(entity, set()))


def test_the_membership_transition_table():
    allowed = {
        (action, status): memberships.next_status(action, status)
        for action in memberships.TRANSITIONS
        for status in memberships.STATUSES
        if status == memberships.TRANSITIONS[action][0]
    }
    assert allowed == {
        ("accept", "pending"): "accepted",
        ("reject", "pending"): "rejected",
        ("cancel", "accepted"): "cancelled",
        ("revert-rejection", "rejected"): "pending",
    }
    illegal = [
        (a, s)
        for a in memberships.TRANSITIONS
        for s in memberships.STATUSES
        if (a, s) not in allowed
    ]
    assert len(illegal) == 12
    for action, status in illegal:
        with pytest.raises(memberships.TransitionRefused):
            memberships.next_status(action, status)


def test_roles_and_the_last_administrator():
    assert memberships.roles_error(["administrator", "buyer"], "entity") is None
    assert memberships.roles_error(["supplier"], "entity") is not None
    assert memberships.roles_error(["supplier"], "entity", mixed_profile=True) is None
    assert memberships.roles_error(["buyer"], "supplier") is not None
    assert memberships.roles_error([], "supplier") is not None
    assert memberships.founder_roles(natural_person=True) == ["administrator", "supplier"]
    assert memberships.loses_last_admin({"a"}, "a", None)
    assert memberships.loses_last_admin({"a"}, "a", ["buyer"])
    assert not memberships.loses_last_admin({"a"}, "a", ["administrator"])
    assert not memberships.loses_last_admin({"a", "b"}, "a", None)
    assert not memberships.loses_last_admin({"a"}, "b", None)
