"""Translations from Babel catalogues (locale/<lang>/LC_MESSAGES/messages.po).

Source strings are English; zh_CN is the default locale. The current locale lives in a context
variable set per request by `LocaleMiddleware`, so services and templates translate alike.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from functools import cache
from typing import Any

from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from litestar.types import ASGIApp, Receive, Scope, Send

from app.settings import ROOT, get_settings

LOCALE_DIR = ROOT / "locale"
LOCALE_COOKIE = "lang"
_current: ContextVar[str] = ContextVar("locale", default="zh_CN")


@cache
def _catalogue(locale: str) -> dict[str, str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalogue = read_po(fh, locale=locale)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> Token[str]:
    return _current.set(locale)


def gettext(message: str, **params: Any) -> str:
    text = _catalogue(_current.get()).get(message) or message
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    params.setdefault("num", n)
    return gettext(singular if n == 1 else plural, **params)


_ = gettext


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is translated later, at render time."""
    return message


def pick_locale(cookie: str | None, accept_language: str | None) -> str:
    supported = get_settings().locales
    if cookie in supported:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_").lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return get_settings().default_locale


class LocaleMiddleware:
    """Plain ASGI middleware: wraps the whole request so that rendering also sees the locale."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        cookie = None
        for chunk in headers.get("cookie", "").split(";"):
            name, _sep, value = chunk.strip().partition("=")
            if name == LOCALE_COOKIE:
                cookie = value
        token = _current.set(pick_locale(cookie, headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def babel_translations(
    locale: str,
) -> NullTranslations:  # NullTranslations when no catalogue  # pragma: no cover - used by tooling only
    return Translations.load(str(LOCALE_DIR), [locale])
