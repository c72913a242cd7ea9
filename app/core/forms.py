"""Small helpers for HTML form handlers: reading the form, and whole numbers out of its text fields.

Form values arrive as text. Ids, versions and positions are whole numbers from 0 to the largest
64-bit signed integer (what the databases store): anything else is not a number for us. In
particular a number past 64 bits must not reach a query, where SQLite and asyncpg fail with a
server error instead of a "not found".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from litestar import Request

from app.core.errors import ValidationFailed

INT64_MAX = 2**63 - 1


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: (v if isinstance(v, str) else "") for k, v in form.items() if k != "_csrf_token"}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: '//evil.example' and absolute URLs would be open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def parse_int(value: object, *, maximum: int = INT64_MAX) -> int | None:
    """A whole number from 0 to `maximum`, or None when `value` is not one.

    Spaces around the digits are ignored. Full-width digits ('１２', typed with a Chinese input
    method left in full-width mode) count, as they do for int(); a sign, a decimal point, '²' (a
    digit to str.isdigit() that int() refuses) or a number past `maximum` do not.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= maximum else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    # The length check first: int() of a few thousand digits is slow, and past 4300 it raises.
    if not text.isdecimal() or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def optional_int(data: Mapping[str, object], name: str, *, maximum: int = INT64_MAX) -> int | None:
    """`data[name]` as a number; None when it is missing, empty or not a number (filters, optional ids)."""
    return parse_int(data.get(name), maximum=maximum)


def int_field(data: Mapping[str, object], name: str, message: str, *, maximum: int = INT64_MAX) -> int | None:
    """`data[name]` as a number; None when missing or empty; anything else is a ValidationFailed
    naming the field with `message` (an untranslated msgid)."""
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    number = parse_int(raw, maximum=maximum)
    if number is None:
        raise ValidationFailed.one(name, message)
    return number


def int_list(values: Iterable[object], *, maximum: int = INT64_MAX) -> list[int]:
    """The numbers among `values` (a multi-select's ids), in order, skipping the rest."""
    return [n for n in (parse_int(v, maximum=maximum) for v in values) if n is not None]
