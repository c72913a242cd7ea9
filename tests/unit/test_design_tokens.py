"""Design tokens: colours are defined once, in app.css's :root, and the text colours among them
read at WCAG AA (4.5:1) on every background they are used on. The pairs below are the ones the
stylesheets use (a text colour and the surface under it, set in the same rule or inherited);
add a pair when a rule puts a text token on a new background."""

from __future__ import annotations

import re

import pytest

from app.settings import ROOT

CSS = ROOT / "static" / "css"
HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")

# (text token, background token) as the stylesheets combine them.
PAIRS = [
    *[("text", bg) for bg in ("bg", "surface", "column", "gray-50", "primary-soft", "primary-softer")],
    # The muted grey: meta text on pages, cards, board columns, table heads, selected rows, notes.
    *[
        ("muted", bg)
        for bg in (
            "bg",
            "surface",
            "column",
            "gray-50",
            "gray-100",
            "primary-soft",
            "primary-softer",
            "warn-soft",
            "danger-softer",
        )
    ],
    *[("primary", bg) for bg in ("bg", "surface", "gray-50", "primary-soft", "primary-softer")],
    *[("primary-dark", bg) for bg in ("surface", "primary-soft")],
    *[("danger", bg) for bg in ("bg", "surface", "danger-soft", "danger-softer")],
    ("danger-dark", "danger-soft"),
    *[("warn", bg) for bg in ("bg", "surface", "warn-soft")],
    *[("success", bg) for bg in ("bg", "surface", "success-soft")],
    ("success-dark", "success-soft"),
    ("violet", "violet-soft"),
    ("pink", "pink-soft"),
    ("gray-700", "gray-100"),
    # White text on filled buttons, badges and dots.
    *[("white", bg) for bg in ("primary", "primary-dark", "danger", "success", "gray-800", "gray-900")],
    # The dark chrome: sidebar, toasts, code blocks.
    *[("on-dark", bg) for bg in ("gray-900", "gray-800")],
    ("on-dark-muted", "gray-900"),
    ("primary-on-dark", "gray-900"),
    ("line", "gray-900"),
    # The wall display (dark; its --muted is --display-muted).
    *[("display-text", bg) for bg in ("display-bg", "display-column", "display-card", "display-overdue")],
    *[("display-muted", bg) for bg in ("display-bg", "display-column", "display-card", "display-overdue")],
    *[("display-warn", bg) for bg in ("display-card", "display-overdue", "display-bg")],
    *[("display-danger", bg) for bg in ("display-card", "display-overdue", "display-bg")],
    ("display-success", "display-bg"),
    ("primary-line", "display-card-line"),
]


def root_tokens() -> dict[str, str]:
    """The custom properties of app.css's first :root block, var() references resolved."""
    text = (CSS / "app.css").read_text()
    block = re.search(r":root\s*\{(.*?)\n\}", text, re.S).group(1)
    block = re.sub(r"/\*.*?\*/", "", block, flags=re.S)
    raw = dict(re.findall(r"--([\w-]+):\s*([^;]+);", block))

    def resolve(value: str, depth: int = 0) -> str:
        ref = re.fullmatch(r"var\(--([\w-]+)\)", value.strip())
        return resolve(raw[ref.group(1)], depth + 1) if ref and depth < 10 else value.strip()

    return {name: resolve(value) for name, value in raw.items()}


def luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_arithmetic_matches_known_values():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#767676", "#fff") == pytest.approx(4.54, abs=0.01)  # the classic AA grey


@pytest.mark.parametrize(("text", "background"), PAIRS, ids=[f"{t}-on-{b}" for t, b in PAIRS])
def test_text_tokens_reach_aa_contrast(text, background):
    tokens = root_tokens()
    ratio = contrast(tokens[text], tokens[background])
    assert ratio >= 4.5, f"--{text} {tokens[text]} on --{background} {tokens[background]}: {ratio:.2f}:1"


def test_stylesheets_and_templates_use_tokens_not_raw_hex_colours():
    root = re.search(r":root\s*\{.*?\n\}", (CSS / "app.css").read_text(), re.S).group(0)
    found = []
    for path in sorted(CSS.glob("*.css")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text().replace(root, ""), flags=re.S)
        found += [f"{path.name}: {hit}" for hit in HEX.findall(text)]
    for folder in (ROOT / "components", *sorted((ROOT / "app").glob("*/templates"))):
        for path in sorted(folder.rglob("*.html")):
            text = re.sub(r"&#x?[0-9a-fA-F]+;", "", path.read_text())  # character references are not colours
            found += [
                f"{path.relative_to(ROOT)}: {hit}"
                for hit in re.findall(r"(?<![\w&])#[0-9a-fA-F]{6}\b|(?<![\w&{])#[0-9a-fA-F]{3}\b(?![\w-])", text)
            ]
    assert found == []


def test_the_pairs_name_real_tokens_and_every_text_colour_in_use_is_checked():
    tokens = root_tokens()
    assert {name for pair in PAIRS for name in pair} <= set(tokens)
    used = set()
    for path in CSS.glob("*.css"):
        used |= set(re.findall(r"(?<![-\w])color:\s*var\(--([\w-]+)\)", path.read_text()))
    assert used - {text for text, _ in PAIRS} - {"gray-600"} == set()  # --gray-600: the bell icon, not text
