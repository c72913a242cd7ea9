"""The one Jinja environment: components/ plus each domain's full-page templates, with i18n."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from app.core import i18n
from app.core.permissions import ROLES
from app.settings import ROOT, get_settings

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def _localtime(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(DISPLAY_TZ).strftime(fmt)


def _date(value: date | str | None) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else value.isoformat()


def _money(value: Decimal | str | int | float | None) -> str:
    """¥12,345.60: yuan with thousands separators and fen, as on a receipt."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)  # stored before a field became money: show it as it is
    if not amount.is_finite():
        return str(value)
    return f"{'-' if amount < 0 else ''}¥{abs(amount):,.2f}"


def _template_dirs() -> list[str]:
    dirs = [str(ROOT / "components")]
    dirs += sorted(str(p) for p in (ROOT / "app").glob("*/templates") if p.is_dir())
    return dirs


def build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(_template_dirs())]),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        _=i18n.gettext,
        current_locale=i18n.current_locale,
        ROLES=ROLES,
        site_name=get_settings().site_name,
    )
    env.filters.update(localtime=_localtime, isodate=_date, money=_money)
    return env


environment = build_environment()


def render_fragment(name: str, **context: Any) -> str:
    """Render a component outside a request (WebSocket pushes, worker)."""
    return environment.get_template(name).render(**context)


def render_macro(name: str, macro: str, /, **arguments: Any) -> str:
    """Call one component macro outside a request (WebSocket pushes): the same source a page
    imports with `{% from name import macro %}`, given its declared arguments and nothing else."""
    return str(getattr(environment.get_template(name).module, macro)(**arguments))
