"""The users pages' pure helpers: what the sign-up form lacks, which key a username recovery
asks by, what a profile edit changes, the history's pages, and refusals said in Spanish."""

from __future__ import annotations

import httpx
import pytest
from portal.adapters.backend import ApiError
from portal.entrypoints.users import (
    DIFFER,
    ONE_KEY,
    choices,
    page_number,
    pages_of,
    problems_of,
    profile_changes,
    profile_problems,
    recovery_key,
    refusal,
    signup_problems,
)

pytestmark = pytest.mark.unit

FILLED = {
    "full_name": "Ana Pérez", "country": "CO", "document_type": "CC",
    "document_number": "1020304050", "email": "ana@dominio.co", "username": "ana.perez",
    "security_question": "¿Ciudad?", "mobile_phone": "3001234567",
    "time_zone": "America/Bogota", "account_name": "ALCALDIA",
}  # fmt: skip
SECRETS = {
    "password": "Clave-2026!",
    "password_confirmation": "Clave-2026!",
    "security_answer": "x",
}


def refused(status: int, body: object, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(httpx.Response(status, json=body, headers=headers))


def test_a_complete_sign_up_has_no_problems_and_every_missing_field_is_named_in_form_order():
    assert signup_problems(FILLED, SECRETS, terms=True) == {}
    empty = signup_problems({}, {"password": ""}, terms=False)
    assert list(empty)[:3] == ["full_name", "country", "document_type"]
    assert list(empty)[-1] == "accept_terms"
    assert "password_confirmation" in empty and "security_answer" in empty


def test_sign_up_refuses_a_confirmation_that_differs_and_an_address_without_a_domain():
    secrets = {**SECRETS, "password_confirmation": "Otra-2026!"}
    errors = signup_problems({**FILLED, "email": "ana@"}, secrets, terms=True)
    assert errors == {
        "email": "Escriba un correo válido, por ejemplo nombre@dominio.co.",
        "password_confirmation": DIFFER,
    }
    assert list(errors) == ["email", "password_confirmation"]  # as the form shows them


def test_a_username_recovery_asks_by_exactly_one_key():
    assert recovery_key({"document_number": "", "email": "a@b.co", "username": ""}) == (
        "email",
        "a@b.co",
    )
    assert recovery_key({"email": "a@b.co", "username": "ana"}) is None
    assert recovery_key({"email": "", "username": ""}) is None


def test_a_profile_edit_sends_only_what_changed_and_asks_the_password_for_credentials():
    me = {**FILLED, "email": "ana@dominio.co", "pending_email": "nueva@dominio.co"}
    same = {**FILLED, "document_number": "1.020.304.050", "document_type": "cc"}
    assert profile_changes(me, same) == {}  # written differently, the same document
    assert profile_changes(me, {**FILLED, "email": "nueva@dominio.co"}) == {}  # already pending
    changes = profile_changes(me, {**FILLED, "full_name": "Ana M. Pérez", "email": "b@c.co"})
    assert changes == {"full_name": "Ana M. Pérez", "email": "b@c.co"}
    assert "current_password" in profile_problems(FILLED, changes, current_password="")
    assert profile_problems(FILLED, {"full_name": "x"}, current_password="") == {}
    assert profile_problems({**FILLED, "email": ""}, {}, "") == {
        "email": "Este dato es obligatorio."
    }


def test_history_pages_and_a_page_number_out_of_range():
    assert pages_of(0, 1, 20) == {"page": 1, "last": 1, "newer": None, "older": None}
    assert pages_of(41, 2, 20) == {"page": 2, "last": 3, "newer": 1, "older": 3}
    assert pages_of(41, 3, 20)["older"] is None
    assert [page_number(x) for x in (None, "3", "0", "-2", "x", "99999999")] == [
        1,
        3,
        1,
        1,
        1,
        10_000,
    ]


def test_a_list_keeps_the_persons_value_when_it_lacks_it():
    options = [("CC", "Cédula de ciudadanía")]
    assert choices(options, "CC") == options
    assert choices(options, "NIT") == [*options, ("NIT", "NIT")]
    assert choices(options, "") == options


def test_refusals_are_said_in_spanish_with_the_wait_and_the_links_problem():
    throttled = refused(429, {"detail": "too many requests"}, {"Retry-After": "42"})
    assert (
        refusal(throttled) == "Demasiados intentos. Espere unos 42 segundos y vuelva a intentarlo."
    )
    locked = refused(429, {"detail": "account locked after too many failed logins"})
    assert "bloqueado" in refusal(locked)
    used = refused(400, {"detail": "this link was already used", "reason": "used"})
    assert refusal(used) == "Este enlace ya se usó."
    assert refusal(refused(410, {"detail": "expired", "reason": "expired"})) == "El enlace venció."
    assert refusal(refused(403, {"detail": "no"})) == "No tiene permiso para hacer esto."


def test_a_refusal_naming_fields_goes_beside_them_in_spanish():
    taken = {"loc": ["body", "username"], "msg": "this username is already registered"}
    phone = {"loc": ["body", "mobile_phone"], "msg": "Value error, invalid phone number"}
    detail = [{**taken, "type": "taken"}, {**phone, "type": "value_error"}]
    errors = problems_of(refused(422, {"detail": detail}))
    assert errors["username"] == "Ese usuario ya existe: elija otro."
    assert errors["mobile_phone"].startswith("Escriba un número de celular válido")
    weak = {"loc": ["body", "password"], "msg": "password must contain letters, numbers and "
            "special characters", "type": "invalid"}  # fmt: skip
    assert "caracteres especiales" in problems_of(refused(422, {"detail": [weak]}))["password"]
    one = [{"loc": ["body"], "msg": "Value error, give exactly one of document_number, email"}]
    assert problems_of(refused(422, {"detail": one})) == {"_": "Escriba solo uno de los datos."}
    assert ONE_KEY.startswith("Escriba solo uno")
