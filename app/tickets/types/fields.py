"""Custom form fields of ticket types: definitions an admin edits, values tickets store.

A definition is a dict: key, label, type, required, help, options (select types), order,
archived. Values live in Ticket.fields under the key; archived fields keep their old values
readable and are no longer asked for.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from app.core.errors import FieldError
from app.core.forms import parse_int
from app.core.i18n import N_

FIELD_TYPES: dict[str, str] = {
    "text": N_("Text"),
    "long_text": N_("Long text"),
    "number": N_("Number"),
    "money": N_("Money"),
    "date": N_("Date"),
    "datetime": N_("Date and time"),
    "select": N_("Single choice"),
    "multi_select": N_("Multiple choice"),
    "boolean": N_("Yes / no"),
    "student": N_("Student"),
    "class_group": N_("Class"),
    "attachment": N_("Attachment"),
}
CHOICE_TYPES = ("select", "multi_select")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TEXT_LIMIT, LONG_TEXT_LIMIT = 200, 5000


def active_fields(definition: list[dict]) -> list[dict]:
    return sorted((f for f in definition if not f.get("archived")), key=lambda f: f.get("order", 0))


def validate_definition(fields: list[dict]) -> tuple[list[dict], list[FieldError]]:
    """Check an admin's field list; returns it normalised (trimmed, ordered) with any errors."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    clean: list[dict] = []
    for index, raw in enumerate(fields):
        where = f"fields.{index}"
        key = str(raw.get("key", "")).strip()
        label = str(raw.get("label", "")).strip()
        kind = str(raw.get("type", ""))
        if not KEY_RE.match(key):
            errors.append(
                FieldError(f"{where}.key", "Use lower-case letters, digits and underscores, starting with a letter.")
            )
        elif key in seen:
            errors.append(FieldError(f"{where}.key", "Each field needs its own key."))
        seen.add(key)
        if not label or len(label) > 60:
            errors.append(FieldError(f"{where}.label", "Enter a label of at most 60 characters."))
        if kind not in FIELD_TYPES:
            errors.append(FieldError(f"{where}.type", "Choose one of the listed options."))
        options = [str(o).strip() for o in raw.get("options") or [] if str(o).strip()]
        if kind in CHOICE_TYPES and not options:
            errors.append(FieldError(f"{where}.options", "List at least one choice."))
        clean.append(
            {
                "key": key,
                "label": label,
                "type": kind,
                "required": bool(raw.get("required")),
                "help": str(raw.get("help", "")).strip()[:200],
                "options": options if kind in CHOICE_TYPES else [],
                "order": index,
                "archived": bool(raw.get("archived")),
            }
        )
    return clean, errors


def merge_definition(old: list[dict], new: list[dict]) -> list[dict]:
    """Keep removed fields as archived so old tickets' values keep their label; a key's type is fixed."""
    new_keys = {f["key"] for f in new}
    old_by_key = {f["key"]: f for f in old}
    merged = []
    for field in new:
        previous = old_by_key.get(field["key"])
        if previous and previous["type"] != field["type"]:
            field = {**field, "type": previous["type"]}  # stored values were written for the old type
        merged.append(field)
    for field in old:
        if field["key"] not in new_keys:
            merged.append({**field, "archived": True, "order": len(merged)})
    return merged


def _text(raw) -> str:
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
    return str(raw).strip() if raw is not None else ""


def _clean_one(field: dict, raw):  # noqa: C901 - one branch per field type reads best flat
    kind = field["type"]
    if kind == "multi_select":
        values = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
        values = [str(v) for v in values if str(v)]
        bad = [v for v in values if v not in field["options"]]
        return (None, N_("Choose one of the listed options.")) if bad else (values, None)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw, None
        text = _text(raw).lower()
        if text in ("", "none"):
            return None, None
        if text in ("1", "true", "yes", "on", "是"):
            return True, None
        if text in ("0", "false", "no", "off", "否"):
            return False, None
        return None, N_("Answer yes or no.")
    text = _text(raw)
    if text == "":
        return None, None
    if kind == "text":
        return (text, None) if len(text) <= TEXT_LIMIT else (None, N_("Too long."))
    if kind == "long_text":
        return (text, None) if len(text) <= LONG_TEXT_LIMIT else (None, N_("Too long."))
    if kind in ("number", "money"):
        try:
            number = Decimal(text.replace(",", "").replace("¥", "").replace("￥", ""))
        except InvalidOperation:
            return None, N_("Enter a number.")
        if not number.is_finite():
            return None, N_("Enter a number.")
        if kind == "money":
            if number < 0:
                return None, N_("Enter an amount of 0 or more.")
            return str(number.quantize(Decimal("0.01"))), None
        return (int(number) if number == number.to_integral_value() else float(number)), None
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, N_("Enter a date like 2026-12-01.")
    if kind == "datetime":
        try:
            return datetime.fromisoformat(text.replace(" ", "T")).isoformat(timespec="minutes"), None
        except ValueError:
            return None, N_("Enter a date and time like 2026-12-01 14:30.")
    if kind == "select":
        return (text, None) if text in field["options"] else (None, N_("Choose one of the listed options."))
    if kind in ("student", "class_group", "attachment"):
        number = parse_int(text)
        return (number, None) if number is not None else (None, N_("Choose from the list."))
    return None, N_("Unknown field type.")


def clean_values(definition: list[dict], raw: dict, *, partial: bool = False) -> tuple[dict, list[FieldError]]:
    """Validate submitted values against a type's active fields; errors name `fields.<key>`."""
    values: dict = {}
    errors: list[FieldError] = []
    known = {f["key"] for f in definition}
    for key in raw:
        if key not in known:
            errors.append(FieldError(f"fields.{key}", "This ticket type has no such field."))
    for field in active_fields(definition):
        key = field["key"]
        if partial and key not in raw:
            continue
        value, error = _clean_one(field, raw.get(key))
        if error:
            errors.append(FieldError(f"fields.{key}", error))
        elif value in (None, "", []) and field["required"]:
            errors.append(FieldError(f"fields.{key}", "This field is required."))
        elif value not in (None, "", []) or partial:
            values[key] = value  # on an edit, an empty value clears the field
    return values, errors


def search_words(definition: list[dict], values: dict) -> str:
    by_key = {f["key"]: f for f in definition}
    parts = []
    for key, value in values.items():
        if by_key.get(key, {}).get("type") in ("text", "long_text", "select", "multi_select"):
            parts.append(" ".join(value) if isinstance(value, list) else str(value))
    return " ".join(parts)
