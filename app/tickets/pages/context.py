"""What the ticket pages show: the list's choices, a type's form, a ticket with its timeline.

Each loader runs a fixed number of queries, whatever the number of tickets, events or fields.
"""

from __future__ import annotations

from app.approvals import services as approval_services
from app.core.forms import parse_int
from app.core.permissions import CurrentUser
from app.tickets import attachments, pickers, policy, queries, services, workflow
from app.tickets.pages import saved_views
from app.tickets.types.fields import FIELD_TYPES, active_fields
from tables.accounts.tables import Campus, User
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup
from tables.tickets.tables import TicketTag, TicketType, TicketWatcher

LABELS = {
    "wf": workflow,
    "field_types": FIELD_TYPES,
    "accept": attachments.ACCEPT,
}


async def list_options(user: CurrentUser) -> dict:
    """The filter bar's choices and the user's saved views."""
    types = await TicketType.select(TicketType.code, TicketType.name).order_by(TicketType.sort_order)
    tags = await TicketTag.select(TicketTag.tag).distinct().order_by(TicketTag.tag).limit(200)
    return {
        "types": types,
        "campuses": await Campus.select(Campus.id, Campus.name).order_by(Campus.id),
        "staff": await pickers.staff(user),
        "known_tags": [r["tag"] for r in tags],
        "views": await saved_views.list_views(user),
    }


def _ids(values) -> list[int]:
    found = set()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if (number := parse_int(item)) is not None:
                found.add(number)
    return sorted(found)


async def picker_options(user: CurrentUser, fields: list[dict], values: dict, prefix: str = "fields.") -> dict:
    """Students and classes to choose from, keeping the ones already chosen in `values`."""
    student_keys = ["student_id", *[prefix + f["key"] for f in fields if f["type"] == "student"]]
    class_keys = ["class_group_id", *[prefix + f["key"] for f in fields if f["type"] == "class_group"]]
    return {
        "student": await pickers.students(user, include=_ids(values.get(k) for k in student_keys)),
        "class_group": await pickers.classes(user, include=_ids(values.get(k) for k in class_keys)),
    }


async def form_context(user: CurrentUser, type_row: dict, values: dict) -> dict:
    fields = active_fields(type_row["fields"])
    return {
        **LABELS,
        "ticket_type": type_row,
        "fields": fields,
        "pickers": await picker_options(user, fields, values),
        "staff": await pickers.staff(user) if policy.is_desk(user) else [],
    }


def shown_fields(ticket: dict) -> list[dict]:
    """Active fields, then archived ones that still hold a value on this ticket."""
    definition = sorted(ticket["type_fields"], key=lambda f: f.get("order", 0))
    active = [f for f in definition if not f.get("archived")]
    archived = [f for f in definition if f.get("archived") and ticket["fields"].get(f["key"]) not in (None, "", [])]
    return active + archived


async def _references(ticket: dict, events: list[dict]) -> dict:
    """Names for the students and classes that field values and the timeline point at."""
    by_key = {f["key"]: f for f in ticket["type_fields"]}
    wanted: dict[str, list] = {"student": [ticket["student"]], "class_group": [ticket["class_group"]]}
    for key, value in ticket["fields"].items():
        kind = by_key.get(key, {}).get("type")
        if kind in wanted:
            wanted[kind].append(value)
    for event in events:
        for key, pair in (event["changes"] or {}).items():
            kind = by_key.get(key.removeprefix("fields."), {}).get("type") if key.startswith("fields.") else key
            if kind in wanted and isinstance(pair, list):
                wanted[kind].extend(pair)
    students = _ids(wanted["student"])
    classes = _ids(wanted["class_group"])
    return {
        "student": {
            r["id"]: r["name"]
            for r in await Student.select(Student.id, Student.name).where(Student.id.is_in(students or [-1]))
        },
        "class_group": {
            r["id"]: r["name"]
            for r in await ClassGroup.select(ClassGroup.id, ClassGroup.name).where(ClassGroup.id.is_in(classes or [-1]))
        },
    }


async def _user_names(events: list[dict]) -> dict[int, str]:
    ids = _ids(pair for e in events if e["kind"] == "assign" for pair in [(e["changes"] or {}).get("assignee", [])])
    if not ids:
        return {}
    return {r["id"]: r["display_name"] for r in await User.select(User.id, User.display_name).where(User.id.is_in(ids))}


async def _next_statuses(ticket: dict) -> tuple[str, ...]:
    """The moves offered: the workflow's, less resolving or closing while an approval runs (refused anyway)."""
    moves = tuple(workflow.TRANSITIONS.get(ticket["status"], ()))
    if any(m in workflow.DONE_STATUSES for m in moves) and await approval_services.running_among([ticket["id"]]):
        moves = tuple(m for m in moves if m not in workflow.DONE_STATUSES)
    return moves


async def detail_context(user: CurrentUser, ticket_id: int) -> dict:
    ticket = await services.get_ticket(user, ticket_id)
    events = await queries.timeline(ticket_id)
    files = await attachments.attachments_of(ticket_id)
    can_work = policy.can_work(user, ticket)
    refs = await _references(ticket, events)
    refs["attachment"] = {f["id"]: f for f in files}
    by_activity: dict[int, list[dict]] = {}
    for f in files:
        if f["activity"] is not None:
            by_activity.setdefault(f["activity"], []).append(f)
    fields = shown_fields(ticket)
    editable = [f for f in fields if not f.get("archived")]
    return {
        **LABELS,
        "ticket": ticket,
        "events": events,
        "files": files,
        "files_by_activity": by_activity,
        "refs": refs,
        "user_names": await _user_names(events),
        "shown_fields": fields,
        "editable_fields": editable,
        "fields_by_key": {f["key"]: f for f in ticket["type_fields"]},
        "can_work": can_work,
        "next_statuses": await _next_statuses(ticket) if can_work else (),
        "watching": await TicketWatcher.exists().where(
            (TicketWatcher.ticket == ticket_id) & (TicketWatcher.user == user.id)
        ),
        "staff": await pickers.staff(user) if can_work else [],
        "pickers": await picker_options(user, editable, ticket["fields"], prefix="")
        if can_work and any(f["type"] in ("student", "class_group") for f in editable)
        else {},
        "errors": {},
        "error_form": "",
        "typed": {},
        "alert": "",
        "notice": "",
        "conflict": False,
    }
