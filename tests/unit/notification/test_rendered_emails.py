"""Every email of every plan, rendered from the samples, is checked for what a reader would see
wrong: a subject or text line with a stray space, a name the template uses that its context
lacks, the case's "Asunto" replaced by the email's own subject.

The renderer tidies a subject's whitespace (values come from people), which would hide a
template's stray space or an empty value; so the subject block is checked as the template
writes it. The renderer itself is strict (``StrictUndefined``): these tests render with it, and
a static look at each template also finds names in branches the samples do not take.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from jinja2 import Template, UndefinedError, meta
from markupsafe import escape
from notification.domain.delivery import Delivery
from notification.domain.plans import PLANS, TEMPLATES, plan
from notification.service_layer.intake import deliveries_for
from notification.service_layer.rendering import (
    EMAIL_SUBJECT,
    RENDERER_NAMES,
    Renderer,
    RenderError,
    subject_block,
)
from secop_contracts import Event
from secop_runtime.sealing import generate_keypair

from tests.unit.notification import samples

pytestmark = pytest.mark.unit

PRIVATE, PUBLIC = generate_keypair()
FOOTER = {"desk_hours": "Lunes a viernes 7-19", "desk_phones": "018000", "desk_contact": "s"}
EVENTS: list[Event] = [
    *samples.every_event(PUBLIC, "ana@example.co"),
    *samples.branch_events(PUBLIC, "ana@example.co"),
]
DELIVERIES: list[Delivery] = [d for e in EVENTS for d in deliveries_for(e, samples.NOW, 5)]
IDS = [f"{d.template}-{i}" for i, d in enumerate(DELIVERIES)]

#: A space at either end, two whitespace characters in a row, or a tab or line break.
STRAY = re.compile(r"^\s|\s$|\s\s|[^\S ]")


def renderer() -> Renderer:
    return Renderer(
        public_base_url="https://secop.example.co/", seal_private_key=PRIVATE, footer=FOOTER
    )


def names_used(tmpl: Template) -> set[str]:
    """The names ``tmpl`` and the templates it extends take from its context, in every branch."""
    env = tmpl.environment
    assert env.loader is not None and tmpl.name is not None
    names: set[str] = set()
    todo, seen = [tmpl.name], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            ast = env.parse(env.loader.get_source(env, name)[0])
            names |= meta.find_undeclared_variables(ast)
            todo += [t for t in meta.find_referenced_templates(ast) if t]
    return names


def test_every_event_type_notification_plans_for_has_a_sample_that_makes_an_email() -> None:
    made = {type(e) for e in EVENTS if plan(e)}
    missing = sorted(t.__name__ for t in PLANS if t not in made)
    assert not missing, f"no sample in samples.py makes an email for {missing}"
    assert {d.template for d in DELIVERIES} == set(TEMPLATES)
    env = renderer().templates(TEMPLATES[0])[0].environment
    on_disk = set(env.list_templates(extensions=["txt"]))  # a template no plan uses is dead
    assert on_disk - {"base.txt"} == {f"{t}.txt" for t in TEMPLATES}


@pytest.mark.parametrize("d", DELIVERIES, ids=IDS)
def test_a_subject_has_no_stray_space_as_the_template_writes_it(d: Delivery) -> None:
    r = renderer()
    raw = subject_block(r.templates(d.template)[0], r.context(d))
    assert raw and not STRAY.search(raw), f"{d.template}: subject {raw!r}"
    assert r.render(d).subject == raw


@pytest.mark.parametrize("d", DELIVERIES, ids=IDS)
def test_no_line_of_the_text_part_has_a_stray_space(d: Delivery) -> None:
    text = renderer().render(d).text
    bad = [line for line in text.splitlines() if STRAY.search(line)]
    assert not bad, f"{d.template}: {bad}"


@pytest.mark.parametrize("d", DELIVERIES, ids=IDS)
def test_every_name_a_template_uses_is_in_its_context(d: Delivery) -> None:
    r = renderer()
    given = r.context(d).keys() | {EMAIL_SUBJECT}
    for tmpl in r.templates(d.template):
        missing = names_used(tmpl) - given
        assert not missing, f"{tmpl.name} uses {sorted(missing)}, which its context lacks"
    r.render(d)  # the branches taken, with the renderer's StrictUndefined


def test_the_renderer_refuses_a_name_its_context_lacks() -> None:
    d = next(d for d in DELIVERIES if d.template == "case_resolved")
    lacking = replace(d, context={k: v for k, v in d.context.items() if k != "resolution"})
    with pytest.raises(RenderError, match="resolution") as refused:
        renderer().render(lacking)
    # A RenderError, so the sender abandons the delivery rather than retry it forever.
    assert isinstance(refused.value.__cause__, UndefinedError)


def test_the_case_opened_email_shows_the_cases_subject_as_its_asunto() -> None:
    opened = [d for d in DELIVERIES if d.template == "case_opened"]
    assert len(opened) == 2  # with an access key and without
    for d in opened:
        r = renderer().render(d)
        case_subject = d.context["subject"]
        assert (
            r.subject == f"Caso {d.context['case_number']} creado en la Mesa de Servicio de SECOP"
        )
        assert f"Asunto: {case_subject}" in r.text.splitlines()
        assert f"<td><strong>Asunto</strong></td><td>{escape(case_subject)}</td>" in r.html
        assert f"<title>{escape(r.subject)}</title>" in r.html


def test_a_case_opened_before_keys_existed_gets_neither_key_nor_link_and_still_renders() -> None:
    [keyless] = [d for d in DELIVERIES if d.template == "case_opened" and not d.sealed_token]
    r = renderer()
    assert r.context(keyless)["link"] == "" and r.context(keyless)["access_key"] == ""
    email = r.render(keyless)
    for part in (email.text, email.html):
        assert "/casos/seguimiento/enlace" not in part and "clave de acceso" not in part
        assert "Use el número de caso para hacer seguimiento" in part
    assert "Seguir su caso" not in email.html and "<a href" not in email.html


@pytest.mark.parametrize("name", sorted(RENDERER_NAMES | FOOTER.keys() | {"access_key"}))
def test_a_plan_cannot_use_a_name_the_renderer_sets(name: str) -> None:
    d = next(d for d in DELIVERIES if d.template == "case_opened")
    shadowing = replace(d, context={**d.context, name: "de la plantilla"})
    with pytest.raises(RenderError, match=name):
        renderer().render(shadowing)
