"""The ticket API's contract: JSON bodies and query strings in, ticket JSON out.

The services name foreign keys after their columns (student, assignee, ...); outside clients
see `<name>_id`. Everything here translates between the two and checks JSON types, so a
service never receives a number where it expects text.
"""

from __future__ import annotations

import re
from datetime import date

from app.core.errors import Conflict, FieldError, ValidationFailed
from app.tickets import workflow
from app.tickets.fields import active_fields
from app.tickets.intake import requester_phone
from app.tickets.services import Draft, TicketFilter

TEXT_KEYS = ("type", "title", "description", "priority", "channel", "requester_kind", "requester_name",
             "requester_phone", "requester_email")  # fmt: skip
ID_KEYS = ("student_id", "class_group_id", "campus_id", "assignee_id", "parent_id")
CREATE_KEYS = {*TEXT_KEYS, *ID_KEYS, "fields", "tags"}
# API name -> the service's name, for PATCH.
PATCH_IDS = {"assignee_id": "assignee", "student_id": "student", "class_group_id": "class_group", "campus_id": "campus"}
PATCH_KEYS = {"title", "description", "priority", "status", "fields", "tags", "version", *PATCH_IDS}
# The service's name -> the API name, for output and error bodies.
API_NAMES = {"student": "student_id", "class_group": "class_group_id", "campus": "campus_id", "assignee": "assignee_id",
             "parent": "parent_id", "team": "team_id", "merged_into": "merged_into_id", "created_by": "created_by_id",
             "ticket_type": "type_id"}  # fmt: skip
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
    fields = [{k: f.get(k) for k in ("key", "label", "type", "required", "help", "options")}
              for f in active_fields(row["fields"])]  # fmt: skip
    return {"code": row["code"], "name": row["name"], "description": row["description"],
            "default_priority": row["default_priority"], "public_intake": row["public_intake"], "fields": fields}  # fmt: skip


def serialise_activity(row: dict) -> dict:
    return {"id": row["id"], "kind": row["kind"], "body": row["body"], "public": row["is_public"],
            "changes": row["changes"], "actor_id": row["actor"], "actor_name": row.get("actor_name"),
            "created_at": row["created_at"]}  # fmt: skip


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed.one("body", "Send a JSON object.")
    return data


def _type_errors(data: dict, text_keys, id_keys) -> list[FieldError]:
    errors = [
        FieldError(k, "Must be text.") for k in text_keys if data.get(k) is not None and not isinstance(data[k], str)
    ]
    for key in id_keys:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append(FieldError(key, "Must be an integer or null."))
    if "fields" in data and not isinstance(data["fields"], dict):
        errors.append(FieldError("fields", "Send an object of field values."))
    if data.get("tags") is not None and not isinstance(data["tags"], list | str):
        errors.append(FieldError("tags", "Send a list of tags."))
    return errors


def _unknown(data: dict, allowed: set[str]) -> list[FieldError]:
    return [FieldError(k, "Unknown field.") for k in sorted(set(data) - allowed)]


def _phone(raw: str | None, errors: list[FieldError]) -> str:
    phone = requester_phone(raw or "")
    if phone is None:
        errors.append(FieldError("requester_phone", "Enter a mobile number or a landline with its area code."))
        return ""
    return phone


def draft_from(data) -> Draft:
    """POST /api/v1/tickets body -> Draft; `channel` defaults to "api"."""
    data = _object(data)
    errors = _unknown(data, CREATE_KEYS) + _type_errors(data, TEXT_KEYS, ID_KEYS)
    if errors:
        raise ValidationFailed(errors)
    phone = _phone(data.get("requester_phone"), errors)
    if errors:
        raise ValidationFailed(errors)
    text = {k: data.get(k) or "" for k in TEXT_KEYS}
    return Draft(
        type=text["type"], title=text["title"], description=text["description"], priority=text["priority"],
        channel=text["channel"] or "api", fields=data.get("fields") or {}, tags=data.get("tags") or [],
        student_id=data.get("student_id"), class_group_id=data.get("class_group_id"), campus_id=data.get("campus_id"),
        assignee_id=data.get("assignee_id"), parent_id=data.get("parent_id"),
        requester_kind=text["requester_kind"] or "guardian", requester_name=text["requester_name"],
        requester_phone=phone, requester_email=text["requester_email"],
    )  # fmt: skip


def changes_from(data) -> tuple[dict, int | None]:
    """PATCH body -> (service changes, body `version` or None)."""
    data = _object(data)
    errors = _unknown(data, PATCH_KEYS) + _type_errors(data, ("title", "description", "priority", "status"),
                                                       (*PATCH_IDS, "version"))  # fmt: skip
    if errors:
        raise ValidationFailed(errors)
    changes = {PATCH_IDS.get(k, k): v for k, v in data.items() if k != "version"}
    return changes, data.get("version")


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


def filters_from(*, status: list[str], type_code: str, priority: str, assignee: str, campus: str, tag: str, q: str,
                 overdue: str, created_from: str, created_to: str, type_exists: bool) -> TicketFilter:  # fmt: skip
    """Query string -> TicketFilter; `status` may repeat and each value may be comma-separated."""
    errors: list[FieldError] = []
    statuses = tuple(s.strip() for value in status for s in value.split(",") if s.strip())
    if any(s not in workflow.STATUSES for s in statuses):
        errors.append(FieldError("status", "Unknown status."))
    if type_code and not type_exists:
        errors.append(FieldError("type", "Unknown ticket type."))
    if priority and priority not in workflow.PRIORITIES:
        errors.append(FieldError("priority", "Choose one of the listed options."))
    if assignee and assignee not in ("me", "none") and not assignee.isdigit():
        errors.append(FieldError("assignee", 'Use "me", "none" or a user id.'))
    if campus and not campus.isdigit():
        errors.append(FieldError("campus", "Must be an integer or null."))
    if overdue not in ("", "true", "false", "1", "0"):
        errors.append(FieldError("overdue", "Use true or false."))
    start, end = _date(created_from, "created_from", errors), _date(created_to, "created_to", errors)
    if errors:
        raise ValidationFailed(errors)
    return TicketFilter(
        q=q.strip(), status=statuses, type=type_code, priority=priority, assignee=assignee,
        campus=int(campus) if campus else None, tag=tag.strip().lstrip("#"), overdue=overdue in ("true", "1"),
        created_from=start, created_to=end,
    )  # fmt: skip
