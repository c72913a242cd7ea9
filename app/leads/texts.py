"""Texts stored for someone else (notifications): in the school's language, not the clicker's."""

from __future__ import annotations

from app.core.i18n import _current, gettext, set_locale
from app.settings import get_settings


def school_text(msgid: str, **params) -> str:
    token = set_locale(get_settings().default_locale)
    try:
        return gettext(msgid, **params)
    finally:
        _current.reset(token)
