"""Reading the ticket pages' query strings and forms into what the services take."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

from app.core.errors import FieldError, ValidationFailed
from app.core.forms import parse_int
from app.tickets import workflow
from app.tickets.attachments import Upload
from app.tickets.services import Draft, TicketFilter
from app.tickets.types.fields import active_fields

DEFAULT_CHANNEL = "phone"  # staff mostly type in what a parent said on the phone


def _date(params, name: str, errors: dict) -> date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "Enter a date like 2026-12-01."
        return None


def parse_filters(params) -> tuple[TicketFilter, dict[str, str]]:
    """The list's filters from a query string (or a form holding the same fields); bad dates are named."""
    errors: dict[str, str] = {}
    assignee = (params.get("assignee") or "").strip()
    campus = (params.get("campus") or "").strip()
    priority = params.get("priority") or ""
    filters = TicketFilter(
        q=(params.get("q") or "").strip()[:100],
        status=tuple(s for s in dict.fromkeys(params.getall("status", [])) if s in workflow.STATUSES),
        type=(params.get("type") or "").strip()[:40],
        priority=priority if priority in workflow.PRIORITIES else "",
        assignee=assignee if assignee in ("me", "none") or parse_int(assignee) is not None else "",
        campus=parse_int(campus),
        tag=(params.get("tag") or "").strip().lstrip("#")[:40],
        overdue=(params.get("overdue") or "") in ("1", "on", "true"),
        created_from=_date(params, "created_from", errors),
        created_to=_date(params, "created_to", errors),
    )
    return filters, errors


def filter_pairs(filters: TicketFilter) -> list[tuple[str, str]]:
    """The filters as query-string pairs, empty ones left out (for links, the pager, saved views)."""
    pairs: list[tuple[str, str]] = [("q", filters.q)] if filters.q else []
    pairs += [("status", s) for s in filters.status]
    for name in ("type", "priority", "assignee", "tag"):
        if getattr(filters, name):
            pairs.append((name, getattr(filters, name)))
    if filters.campus is not None:
        pairs.append(("campus", str(filters.campus)))
    if filters.overdue:
        pairs.append(("overdue", "1"))
    for name in ("created_from", "created_to"):
        if getattr(filters, name):
            pairs.append((name, getattr(filters, name).isoformat()))
    return pairs


def filter_query(filters: TicketFilter) -> str:
    return urlencode(filter_pairs(filters))


def is_filtered(filters: TicketFilter) -> bool:
    return bool(filter_pairs(filters))


def form_values(form) -> dict:
    """Text values of a form; a name sent several times (checkboxes) gives a list."""
    values: dict = {}
    for name in dict.fromkeys(form.keys()):
        if name == "_csrf_token":
            continue
        texts = [v for v in form.getall(name) if isinstance(v, str)]
        if texts:
            values[name] = texts if len(texts) > 1 else texts[0]
    return values


def _text(values: dict, name: str) -> str:
    value = values.get(name, "")
    return value[-1] if isinstance(value, list) else value


def _ref(values: dict, name: str) -> int | None:
    """An id from a select; anything else than digits becomes -1, which the service names as unknown."""
    text = _text(values, name).strip()
    if not text:
        return None
    number = parse_int(text)
    return -1 if number is None else number


def custom_values(values: dict, definition: list[dict], uploads: list[Upload], *, every_field: bool) -> dict:
    """Raw custom values from `fields.<key>` inputs.

    `every_field` (the edit form) sends each active field, empty when cleared; an attachment field
    is sent only with a new file, as the placeholder 0 that the stored file's id replaces.
    """
    raw: dict = {}
    for field in active_fields(definition):
        name = f"fields.{field['key']}"
        if field["type"] == "attachment":
            if any(u.field == name for u in uploads):
                raw[field["key"]] = "0"
            continue
        if name in values:
            raw[field["key"]] = values[name]
        elif every_field:
            raw[field["key"]] = [] if field["type"] == "multi_select" else ""
    return raw


def draft_from_form(values: dict, type_row: dict, uploads: list[Upload]) -> Draft:
    return Draft(
        type=type_row["code"],
        title=_text(values, "title"),
        description=_text(values, "description"),
        priority=_text(values, "priority"),
        channel=_text(values, "channel") or DEFAULT_CHANNEL,
        fields=custom_values(values, type_row["fields"], uploads, every_field=False),
        student_id=_ref(values, "student_id"),
        class_group_id=_ref(values, "class_group_id"),
        assignee_id=_ref(values, "assignee_id"),
        requester_kind=_text(values, "requester_kind") or "guardian",
        requester_name=_text(values, "requester_name"),
        requester_phone=_text(values, "requester_phone"),
        tags=_text(values, "tags"),
    )


def property_changes(values: dict) -> dict:
    """The detail page's property and status forms: only what the form sent."""
    changes: dict = {}
    for name in ("status", "priority", "tags"):
        if name in values:
            changes[name] = _text(values, name)
    if "assignee_id" in values:
        changes["assignee"] = _text(values, "assignee_id")
    return changes


def form_version(values: dict) -> int:
    version = parse_int(_text(values, "version"))
    if version is None:
        raise ValidationFailed([FieldError("version", "This form is out of date. Reload the page and try again.")])
    return version


def mark_overdue(rows: list[dict], now: datetime) -> list[dict]:
    for row in rows:
        due = row.get("due_at")
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        row["overdue"] = bool(due and due < now and row["status"] in workflow.OPEN_STATUSES)
    return rows
