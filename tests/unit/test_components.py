"""Components are macros with declared arguments: importing one renders nothing and needs nothing
from a caller's context (the environment is StrictUndefined, so a top-level variable would raise),
and no component includes another file to read that file's caller's variables."""

from __future__ import annotations

import re

import pytest

from app.core.templates import environment, render_macro
from app.settings import ROOT

COMPONENTS = ROOT / "components"
# Entry templates, not libraries: the two layouts pages extend, and three htmx answers a handler
# renders on its own (never included), each with the context its handler gives.
ENTRY = {
    "layout/page.html",
    "layout/partial.html",
    "approvals/panel.html",
    "leads/phone_revealed.html",
    "tickets/relations.html",
}
LIBRARIES = sorted(
    str(p.relative_to(COMPONENTS)) for p in COMPONENTS.rglob("*.html") if str(p.relative_to(COMPONENTS)) not in ENTRY
)


@pytest.mark.parametrize("name", LIBRARIES)
def test_a_component_is_a_macro_library(name):
    # A fresh module (the top level, with an empty context), leaving the environment's cache alone.
    module = environment.get_template(name).make_module()
    assert str(module).strip() == "", name
    assert [n for n in dir(module) if not n.startswith("_")], f"{name} defines no public macro"


def test_no_template_reaches_into_a_callers_context_through_an_include_of_a_component():
    found = []
    for path in [*COMPONENTS.rglob("*.html"), *ROOT.glob("app/*/templates/**/*.html")]:
        for target in re.findall(r"\{%-?\s*include\s+\"([^\"]+)\"", path.read_text()):
            if (COMPONENTS / target).exists():
                found.append(f"{path.relative_to(ROOT)} includes {target}")
    assert found == []


def test_a_macro_refuses_arguments_it_does_not_declare():
    with pytest.raises(TypeError):
        render_macro("notifications/bell.html", "bell", unread_count=1, colour="red")
    assert 'hx-swap-oob="true"' in render_macro("notifications/bell.html", "bell", unread_count=3, oob=True)
