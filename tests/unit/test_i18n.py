"""Translations: the zh_CN catalogue is complete and in step with the code; locale choice."""

from __future__ import annotations

import importlib.util
import re

import pytest
from babel.messages.pofile import read_po

from app.core import i18n
from app.settings import ROOT

CATALOGUE = ROOT / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _load(path):
    with path.open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def _msgids(catalogue) -> set:
    return {m.id for m in catalogue if m.id}


def test_every_msgid_has_a_chinese_translation():
    catalogue = _load(CATALOGUE)
    assert len(_msgids(catalogue)) > 100  # the real catalogue, not an empty file
    untranslated = [m.id for m in catalogue if m.id and not (m.string and all(m.string))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]  # fuzzy entries are not used at runtime
    assert untranslated == []
    assert fuzzy == []


def test_placeholders_survive_translation():
    checked = 0
    for message in _load(CATALOGUE):
        if isinstance(message.id, str) and "%(" in message.id:
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), message.id
            checked += 1
    assert checked >= 3


def test_code_and_catalogue_are_in_step(tmp_path):
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pot = tmp_path / "messages.pot"
    script.extract(pot)  # the same extraction `make messages` runs, into a scratch file
    with pot.open("rb") as fh:
        extracted = _msgids(read_po(fh))
    assert len(extracted) > 100
    missing = sorted(str(m) for m in extracted - _msgids(_load(CATALOGUE)))
    assert missing == [], "run `python scripts/i18n.py` and translate: " + ", ".join(missing)


def test_gettext_follows_the_current_locale_and_fills_params():
    token = i18n.set_locale("en")
    try:
        assert i18n.gettext("Lead “%(name)s” deleted.", name="王小明") == "Lead “王小明” deleted."
        assert i18n.gettext("Dashboard") == "Dashboard"
    finally:
        i18n._current.reset(token)
    token = i18n.set_locale("zh_CN")
    try:
        assert i18n.gettext("Lead “%(name)s” deleted.", name="王小明") == "线索“王小明”已删除。"
        assert i18n.gettext("Dashboard") == "工作台"
        assert i18n.gettext("A message nobody translated") == "A message nobody translated"
        assert i18n.ngettext("Dashboard", "Dashboards", 1) == "工作台"
    finally:
        i18n._current.reset(token)


@pytest.mark.parametrize(
    ("cookie", "accept_language", "expected"),
    [
        ("en", None, "en"),
        ("zh_CN", "en-US,en;q=0.9", "zh_CN"),  # an explicit choice beats the browser
        ("fr", "en-US,en;q=0.9", "en"),  # an unknown cookie is ignored
        (None, "en-GB,en;q=0.8", "en"),
        (None, "zh-TW,zh;q=0.9,en;q=0.5", "zh_CN"),
        (None, "de-DE,en;q=0.5", "en"),  # the first supported language in the list
        (None, "de-DE,fr;q=0.5", "zh_CN"),
        (None, None, "zh_CN"),
        ("", "", "zh_CN"),
    ],
)
def test_pick_locale(cookie, accept_language, expected):
    assert i18n.pick_locale(cookie, accept_language) == expected
