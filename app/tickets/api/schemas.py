"""The ticket API's contract: JSON bodies and query strings in, ticket JSON out.

The services name foreign keys after their columns (student, assignee, ...); outside clients
see `<name>_id`. Everything here translates between the two and checks JSON types, so a
service never receives a number where it expects text.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from app.core.api import DB_INT_MAX, DbInt, set_fields
from app.core.errors import Conflict, FieldError, ValidationFailed
from app.tickets import workflow
from app.tickets.intake.services import requester_phone
from app.tickets.services import Draft, TicketFilter
from app.tickets.types.fields import active_fields


class TicketIn(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/tickets. `type` is a ticket type's code; `fields` follow that type's form (see
    GET /api/v1/ticket-types). The service checks every value and names each failing field (422)."""

    type: str | None = None
    title: str | None = None
    description: str | None = None
    priority: str | None = None
    channel: str | None = None  # default: api
    requester_kind: str | None = None
    requester_name: str | None = None
    requester_phone: str | None = None
    requester_email: str | None = None
    student_id: DbInt | None = None
    class_group_id: DbInt | None = None
    campus_id: DbInt | None = None
    assignee_id: DbInt | None = None
    parent_id: DbInt | None = None
    fields: dict[str, Any] | None = None
    tags: list[str] | str | None = None


class TicketPatch(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH /api/v1/tickets/{id}: only the fields sent change (null clears an id). `version` (or
    `If-Match`): the one you read; stale: 409."""

    title: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET
    priority: str | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET
    fields: dict[str, Any] | UnsetType = UNSET
    tags: list[str] | str | UnsetType | None = UNSET
    assignee_id: DbInt | UnsetType | None = UNSET
    student_id: DbInt | UnsetType | None = UNSET
    class_group_id: DbInt | UnsetType | None = UNSET
    campus_id: DbInt | UnsetType | None = UNSET
    version: DbInt | UnsetType | None = UNSET


class MessageIn(msgspec.Struct):
    body: str = ""
    public: bool = False  # true: a reply the requester sees; false: an internal note


class TicketSummary(msgspec.Struct):
    id: int
    number: str
    title: str
    status: str
    priority: str
    channel: str
    type: str | None
    type_id: int | None
    type_name: str | None
    assignee_id: int | None
    assignee_name: str | None
    campus_id: int | None
    created_by_id: int | None
    requester_name: str
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TicketOut(TicketSummary):
    description: str
    fields: dict[str, Any]
    tags: list[str]
    requester_kind: str
    requester_phone: str
    requester_email: str
    student_id: int | None
    student_name: str | None
    class_group_id: int | None
    class_name: str | None
    campus_name: str | None
    parent_id: int | None
    merged_into_id: int | None
    team_id: int | None
    creator_name: str | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    tracking_url: str | UnsetType = UNSET  # the requester's tracking page, when the ticket has one
    # GET /api/v1/tickets/{id} only: open SLA dues (null when met, paused or without target), any target missed
    first_response_due: datetime | UnsetType | None = UNSET
    resolution_due: datetime | UnsetType | None = UNSET
    sla_breached: bool | UnsetType = UNSET


class TicketPage(msgspec.Struct):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int


class TypeField(msgspec.Struct):
    key: str | None
    label: str | None
    type: str | None
    required: bool | None
    help: str | None
    options: list[str] | None


class TicketTypeOut(msgspec.Struct):
    code: str
    name: str
    description: str
    default_priority: str
    public_intake: bool
    fields: list[TypeField]


class TicketTypes(msgspec.Struct):
    items: list[TicketTypeOut]


class ActivityOut(msgspec.Struct):
    id: int
    kind: str
    body: str
    public: bool
    changes: dict[str, Any]
    actor_id: int | None
    actor_name: str | None
    created_at: datetime


class Timeline(msgspec.Struct):
    items: list[ActivityOut]


TEXT_KEYS = (
    "type",
    "title",
    "description",
    "priority",
    "channel",
    "requester_kind",
    "requester_name",
    "requester_phone",
    "requester_email",
)
# API name -> the service's name, for PATCH.
PATCH_IDS = {"assignee_id": "assignee", "student_id": "student", "class_group_id": "class_group", "campus_id": "campus"}
# The service's name -> the API name, for output and error bodies.
API_NAMES = {
    "student": "student_id",
    "class_group": "class_group_id",
    "campus": "campus_id",
    "assignee": "assignee_id",
    "parent": "parent_id",
    "team": "team_id",
    "merged_into": "merged_into_id",
    "created_by": "created_by_id",
    "ticket_type": "type_id",
}
HIDDEN = {"type_fields", "deleted_at", "tracking_token", "type_code", "search_text"}
ETAG_RE = re.compile(r'^(?:W/)?"?(\d+)"?$')


def api_field_names(exc: ValidationFailed) -> ValidationFailed:
    for error in exc.errors:
        error.field = API_NAMES.get(error.field, error.field)
    return exc


def serialise(ticket: dict) -> dict:
    out = {API_NAMES.get(k, k): v for k, v in ticket.items() if k not in HIDDEN}
    out["type"] = ticket.get("type_code")
    if ticket.get("tracking_token"):
        out["tracking_url"] = f"/track/{ticket['tracking_token']}"
    return out


def etag(ticket: dict) -> dict[str, str]:
    return {"ETag": f'W/"{ticket["version"]}"'}


def serialise_type(row: dict) -> dict:
    fields = [
        {k: f.get(k) for k in ("key", "label", "type", "required", "help", "options")}
        for f in active_fields(row["fields"])
    ]
    return {
        "code": row["code"],
        "name": row["name"],
        "description": row["description"],
        "default_priority": row["default_priority"],
        "public_intake": row["public_intake"],
        "fields": fields,
    }


def serialise_activity(row: dict) -> dict:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "body": row["body"],
        "public": row["is_public"],
        "changes": row["changes"],
        "actor_id": row["actor"],
        "actor_name": row.get("actor_name"),
        "created_at": row["created_at"],
    }


def _phone(raw: str | None, errors: list[FieldError]) -> str:
    phone = requester_phone(raw or "")
    if phone is None:
        errors.append(FieldError("requester_phone", "Enter a mobile number or a landline with its area code."))
        return ""
    return phone


def draft_from(data: TicketIn) -> Draft:
    """POST /api/v1/tickets body -> Draft; `channel` defaults to "api"."""
    errors: list[FieldError] = []
    phone = _phone(data.requester_phone, errors)
    if errors:
        raise ValidationFailed(errors)
    text = {k: getattr(data, k) or "" for k in TEXT_KEYS}
    return Draft(
        type=text["type"],
        title=text["title"],
        description=text["description"],
        priority=text["priority"],
        channel=text["channel"] or "api",
        fields=data.fields or {},
        tags=data.tags or [],
        student_id=data.student_id,
        class_group_id=data.class_group_id,
        campus_id=data.campus_id,
        assignee_id=data.assignee_id,
        parent_id=data.parent_id,
        requester_kind=text["requester_kind"] or "guardian",
        requester_name=text["requester_name"],
        requester_phone=phone,
        requester_email=text["requester_email"],
    )


def changes_from(data: TicketPatch) -> tuple[dict, int | None]:
    """PATCH body -> (service changes, body `version` or None)."""
    sent = set_fields(data)
    version = sent.pop("version", None)
    return {PATCH_IDS.get(k, k): v for k, v in sent.items()}, version


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version the client based its change on: the `version` field, or the ETag in If-Match."""
    header_version = None
    if if_match and if_match.strip() != "*":
        match = ETAG_RE.match(if_match.strip())
        if not match:
            raise ValidationFailed.one("If-Match", 'Send the ETag you received, like W/"3".')
        header_version = int(match.group(1))
    if header_version is not None and body_version is not None and header_version != body_version:
        raise stale()
    return body_version if body_version is not None else header_version


def stale() -> Conflict:
    return Conflict(
        "This ticket was changed by someone else after you opened it. Reload to see their changes, then try again.",
        [FieldError("version", "Stale version: read the ticket again and retry with its new ETag.")],
    )


def _date(value: str, name: str, errors: list[FieldError]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(name, "Enter a date like 2026-12-01."))
        return None


def _id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and int(raw) <= DB_INT_MAX


def filters_from(
    *,
    status: list[str],
    type_code: str,
    priority: str,
    assignee: str,
    campus: str,
    tag: str,
    q: str,
    overdue: str,
    created_from: str,
    created_to: str,
    type_exists: bool,
) -> TicketFilter:
    """Query string -> TicketFilter; `status` may repeat and each value may be comma-separated."""
    errors: list[FieldError] = []
    statuses = tuple(s.strip() for value in status for s in value.split(",") if s.strip())
    if any(s not in workflow.STATUSES for s in statuses):
        errors.append(FieldError("status", "Unknown status."))
    if type_code and not type_exists:
        errors.append(FieldError("type", "Unknown ticket type."))
    if priority and priority not in workflow.PRIORITIES:
        errors.append(FieldError("priority", "Choose one of the listed options."))
    if assignee and assignee not in ("me", "none") and not _id(assignee):
        errors.append(FieldError("assignee", 'Use "me", "none" or a user id.'))
    if campus and not _id(campus):
        errors.append(FieldError("campus", "Must be an integer or null."))
    if overdue not in ("", "true", "false", "1", "0"):
        errors.append(FieldError("overdue", "Use true or false."))
    start, end = _date(created_from, "created_from", errors), _date(created_to, "created_to", errors)
    if errors:
        raise ValidationFailed(errors)
    return TicketFilter(
        q=q.strip(),
        status=statuses,
        type=type_code,
        priority=priority,
        assignee=assignee,
        campus=int(campus) if campus else None,
        tag=tag.strip().lstrip("#"),
        overdue=overdue in ("true", "1"),
        created_from=start,
        created_to=end,
    )
