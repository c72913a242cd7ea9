"""Tickets: creation, the single update path, replies and notes, claiming, listing.

Every change runs in one UnitOfWork, writes TicketActivity rows (the timeline) and emits one
event after commit (`ticket.created` / `ticket.updated` / `ticket.message`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import Event
from app.core.forms import parse_int
from app.core.permissions import CurrentUser
from app.core.prepared import Prepared, PreparedInsert
from app.notifications.services import notify
from app.tickets import attachments, policy, workflow
from app.tickets.attachments import Upload
from app.tickets.audience import of_ticket
from app.tickets.numbering import assign_number, pending_number
from app.tickets.types import fields as ticket_fields
from tables.accounts.tables import Campus, User
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup
from tables.tickets.tables import (
    Ticket,
    TicketActivity,
    TicketTag,
    TicketType,
    TicketWatcher,
)

MENTION_RE = re.compile(r"@([A-Za-z0-9_.\-]{3,64})")
TAG_RE = re.compile(r"^[\w\u4e00-\u9fff\-]{1,40}$")
LIST_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.channel,
    Ticket.assignee,
    Ticket.campus,
    Ticket.created_by,
    Ticket.due_at,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.version,
    Ticket.ticket_type,
    Ticket.ticket_type.name.as_alias("type_name"),
    Ticket.ticket_type.code.as_alias("type_code"),
    Ticket.assignee.display_name.as_alias("assignee_name"),
    Ticket.requester_name,
)
DETAIL_COLUMNS = (
    *LIST_COLUMNS,
    Ticket.description,
    Ticket.fields,
    Ticket.requester_kind,
    Ticket.requester_phone,
    Ticket.requester_email,
    Ticket.student,
    Ticket.class_group,
    Ticket.parent,
    Ticket.merged_into,
    Ticket.team,
    Ticket.first_response_at,
    Ticket.resolved_at,
    Ticket.closed_at,
    Ticket.tracking_token,
    Ticket.deleted_at,
    Ticket.student.name.as_alias("student_name"),
    Ticket.class_group.name.as_alias("class_name"),
    Ticket.campus.name.as_alias("campus_name"),
    Ticket.created_by.display_name.as_alias("creator_name"),
    Ticket.ticket_type.fields.as_alias("type_fields"),
)
SIMPLE_FIELDS = ("title", "description", "priority", "student", "class_group", "campus", "assignee", "status")
ACTIVITY_COLUMNS = (
    TicketActivity.id,
    TicketActivity.kind,
    TicketActivity.body,
    TicketActivity.is_public,
    TicketActivity.changes,
    TicketActivity.created_at,
    TicketActivity.actor,
    TicketActivity.actor.display_name.as_alias("actor_name"),
)


@dataclass(frozen=True)
class TicketFilter:
    q: str = ""
    status: tuple[str, ...] = ()
    type: str = ""
    priority: str = ""
    assignee: str = ""  # "me" | "none" | a user id
    campus: int | None = None
    tag: str = ""
    overdue: bool = False
    created_from: date | None = None
    created_to: date | None = None
    open_only: bool = False


@dataclass
class Draft:
    """What create_ticket accepts (the API and the forms both build one)."""

    type: str
    title: str
    description: str = ""
    priority: str = ""
    channel: str = "web"
    fields: dict = field(default_factory=dict)
    student_id: int | None = None
    class_group_id: int | None = None
    campus_id: int | None = None
    assignee_id: int | None = None
    parent_id: int | None = None
    requester_kind: str = "guardian"
    requester_name: str = ""
    requester_phone: str = ""
    requester_email: str = ""
    tags: list[str] = field(default_factory=list)


class Written(dict):
    """What a write made: the ticket as `get_ticket` returns it (so callers that want the ticket use
    it as one) and, as `.activity`, the timeline row the write added (ACTIVITY_COLUMNS) and, as
    `.files`, the attachment rows stored with it."""

    def __init__(self, ticket: dict, activity: dict, files: list[dict] | None = None) -> None:
        super().__init__(ticket)
        self.activity = activity
        self.files = files or []


async def ticket_types(active_only: bool = True) -> list[dict]:
    query = TicketType.select().order_by(TicketType.sort_order).order_by(TicketType.id)
    if active_only:
        query = query.where(TicketType.is_active.eq(True))
    return await query.output(load_json=True)


_TYPE_BY_CODE = Prepared(
    lambda code: TicketType.select().where(TicketType.code == code).first(), 1, json_keys=["fields"]
)


async def type_by_code(code: str) -> dict | None:
    return await _TYPE_BY_CODE.run(code)


def _search_text(title: str, description: str, definition: list[dict], values: dict) -> str:
    return " ".join([title, description, ticket_fields.search_words(definition, values)]).lower()[:20000]


async def _exists(table, row_id) -> bool:
    return row_id is None or await table.exists().where(table.id == row_id)


async def _check_references(values: dict, errors: list[FieldError]) -> None:
    checks = (("student", Student), ("class_group", ClassGroup), ("campus", Campus), ("parent", Ticket))
    for name, table in checks:
        if name in values and not await _exists(table, values[name]):
            errors.append(FieldError(f"{name}_id" if name != "parent" else "parent_id", "Unknown record."))
    if values.get("assignee") is not None and not await User.exists().where(
        (User.id == values["assignee"]) & User.is_active.eq(True)
    ):
        errors.append(FieldError("assignee_id", "Unknown user."))


def _ids_of(definition: list[dict], values: dict, kind: str) -> dict[str, int]:
    """`fields.<key>` -> id for the custom fields of `kind` (student, class_group) that hold one."""
    keys = {f["key"] for f in definition if f["type"] == kind}
    return {f"fields.{k}": v for k, v in values.items() if k in keys and isinstance(v, int) and not isinstance(v, bool)}


async def _check_choices(
    actor: CurrentUser,
    named: dict[str, dict[str, int]],
    errors: list[FieldError],
    allowed: dict[str, set[int]] | None = None,
) -> None:
    """Students and classes a write names must be ones the actor could have picked from the form's
    lists (policy.student_scope, class_scope); `allowed` ids pass anyway (a visible parent's)."""
    known = {e.field for e in errors}
    for kind, scope, table in (
        ("student", policy.student_scope, Student),
        ("class_group", policy.class_scope, ClassGroup),
    ):
        wanted = {
            name: v for name, v in named[kind].items() if name not in known and v not in (allowed or {}).get(kind, ())
        }
        if not wanted:
            continue
        seen = {
            r["id"]
            for r in await table.select(table.id).where(
                await scope(actor) & table.id.is_in(sorted(set(wanted.values())))
            )
        }
        errors += [FieldError(name, "Choose from the list.") for name, v in sorted(wanted.items()) if v not in seen]


async def _check_assignee(actor: CurrentUser, assignee: int | None, errors: list[FieldError]) -> None:
    if assignee is None or assignee == actor.id or any(e.field == "assignee_id" for e in errors):
        return
    if not await User.exists().where(policy.staff_scope(actor) & (User.id == assignee)):
        errors.append(FieldError("assignee_id", "Choose from the list."))


async def _check_draft(
    actor: CurrentUser, values: dict, custom: dict, definition: list[dict], errors: list[FieldError]
) -> None:
    """What a new ticket names must be the user's to name: students and classes they can see, a
    parent ticket they can see, and only the desk assigns to others. The page, the API and a split
    all come through here; the public intake and automation (no user) do not."""
    allowed: dict[str, set[int]] = {}
    if values["parent"] is not None and not any(e.field == "parent_id" for e in errors):
        parent = await _load(values["parent"])
        if parent["deleted_at"] is not None or not await policy.can_view(actor, parent):
            errors.append(FieldError("parent_id", "Unknown record."))
        else:  # a child may name what its parent names (a split keeps the original's student)
            for kind, column in (("student", "student"), ("class_group", "class_group")):
                allowed[kind] = {parent[column], *_ids_of(parent["type_fields"], parent["fields"], kind).values()}
    named = {
        kind: {**({column: values[key]} if values[key] is not None else {}), **_ids_of(definition, custom, kind)}
        for kind, key, column in (
            ("student", "student", "student_id"),
            ("class_group", "class_group", "class_group_id"),
        )
    }
    await _check_choices(actor, named, errors, allowed)
    if values["assignee"] is not None and not policy.is_desk(actor) and values["assignee"] != actor.id:
        errors.append(FieldError("assignee_id", "Only the service desk assigns tickets to others."))
    await _check_assignee(actor, values["assignee"], errors)


def _clean_tags(tags) -> tuple[list[str], list[FieldError]]:
    if tags in (None, ""):
        return [], []
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[,，\s]+", tags) if t]
    if not isinstance(tags, list):
        return [], [FieldError("tags", "Send a list of tags.")]
    clean = sorted({str(t).strip().lstrip("#") for t in tags if str(t).strip()})
    if any(not TAG_RE.match(t) for t in clean) or len(clean) > 20:
        return [], [FieldError("tags", "Tags are single words of at most 40 characters, at most 20 of them.")]
    return clean, []


def _clean_basics(draft: Draft, type_row: dict) -> tuple[dict, list[FieldError]]:
    errors: list[FieldError] = []
    title = (draft.title or "").strip()
    if not title:
        errors.append(FieldError("title", "Enter a title."))
    elif len(title) > 200:
        errors.append(FieldError("title", "At most 200 characters."))
    description = (draft.description or "").strip()
    if len(description) > 10000:
        errors.append(FieldError("description", "At most 10,000 characters."))
    priority = draft.priority or type_row["default_priority"]
    if priority not in workflow.PRIORITIES:
        errors.append(FieldError("priority", "Choose one of the listed options."))
    if draft.channel not in workflow.CHANNELS:
        errors.append(FieldError("channel", "Choose one of the listed options."))
    if draft.requester_kind not in workflow.REQUESTER_KINDS:
        errors.append(FieldError("requester_kind", "Choose one of the listed options."))
    values = dict(
        title=title,
        description=description,
        priority=priority,
        channel=draft.channel,
        requester_kind=draft.requester_kind,
        requester_name=(draft.requester_name or "").strip()[:100],
        requester_phone=(draft.requester_phone or "").strip()[:32],
        requester_email=(draft.requester_email or "").strip()[:255],
        student=draft.student_id,
        class_group=draft.class_group_id,
        campus=draft.campus_id,
        assignee=draft.assignee_id,
        parent=draft.parent_id,
    )
    return values, errors


async def create_ticket(
    actor: CurrentUser | None,
    draft: Draft,
    clock: Clock = system_clock,
    *,
    optional_types: tuple[str, ...] = (),
    uploads: list[Upload] | tuple[Upload, ...] = (),
) -> Written:
    """Open a ticket, with its files (`uploads`; an attachment field's file becomes its value).
    `actor` is None for the public intake form, which passes the field types the public cannot
    fill as `optional_types`: those stay empty until staff triage the ticket.

    Files are checked before anything is written; the ticket, its first timeline row and its
    files are stored in one unit of work, and files written to disk are removed if it fails."""
    attachments.check_uploads(list(uploads))
    type_row = await type_by_code(draft.type) if isinstance(draft.type, str) else None
    if type_row is None or not type_row["is_active"]:
        raise ValidationFailed([FieldError("type", "Unknown ticket type.")])
    values, errors = _clean_basics(draft, type_row)
    definition = [{**f, "required": False} if f["type"] in optional_types else f for f in type_row["fields"]]
    custom, field_errors = ticket_fields.clean_values(definition, draft.fields or {})
    tags, tag_errors = _clean_tags(draft.tags)
    errors += field_errors + tag_errors
    await _check_references(values, errors)
    if actor is not None:
        await _check_draft(actor, values, custom, type_row["fields"], errors)
    if errors:
        raise ValidationFailed(errors)
    if values["campus"] is None and actor is not None:
        values["campus"] = actor.campus_id
    now = clock.now()
    files = await attachments.write_files(list(uploads), now)
    try:
        async with UnitOfWork() as uow:
            status = "assigned" if values["assignee"] else "new"
            ticket_id = (
                await _INSERT_TICKET.run(
                    {
                        **values,
                        "number": pending_number(),
                        "ticket_type": type_row["id"],
                        "fields": custom,
                        "team": type_row["team"],
                        "status": status,
                        "created_by": actor.id if actor else None,
                        "search_text": _search_text(values["title"], values["description"], type_row["fields"], custom),
                        "tracking_token": secrets.token_urlsafe(32),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            )[0]
            if tags:
                await _INSERT_TAG.run(*[{"ticket": ticket_id, "tag": t} for t in tags])
            activity_id = (
                await _INSERT_ACTIVITY.run(
                    {
                        "ticket": ticket_id,
                        "actor": actor.id if actor else None,
                        "kind": "created",
                        "created_at": now,
                        "changes": {
                            "status": [None, status],
                            "priority": [None, values["priority"]],
                            "channel": [None, values["channel"]],
                        },
                    }
                )
            )[0]
            saved = await attachments.record(
                actor, ticket_id, files, activity_id=activity_id, link_fields=True, now=now
            )

            async def number_it() -> None:
                number = await assign_number(ticket_id, now)
                if values["assignee"] and (actor is None or values["assignee"] != actor.id):
                    await notify(
                        uow,
                        [values["assignee"]],
                        kind="ticket_assigned",
                        title=f"{number} {values['title']}",
                        link=f"/tickets/{ticket_id}",
                    )

            uow.before_commit(number_it)
            uow.emit(
                Event(
                    "ticket.created",
                    _event_payload(ticket_id, status, None, values, type_row["code"], 1),
                    audience=of_ticket(ticket_id),
                )
            )
    except BaseException:
        attachments.discard_files(files)
        raise
    # the tags just written, in the order they were inserted
    return Written(await _load(ticket_id, tags=tags), await _activity(activity_id), saved)


# Every ticket created runs these: compiled once (app/core/prepared.py) instead of built each time.
_INSERT_TICKET, _INSERT_TAG, _INSERT_ACTIVITY = (
    PreparedInsert(Ticket),
    PreparedInsert(TicketTag),
    PreparedInsert(TicketActivity),
)


def _event_payload(ticket_id, status, old_status, values, type_code, version) -> dict:
    return {
        "id": ticket_id,
        "status": status,
        "old_status": old_status,
        "assignee": values.get("assignee"),
        "campus": values.get("campus"),
        "priority": values.get("priority"),
        "type": type_code,
        "version": version,
    }


_DETAIL = Prepared(
    lambda ticket_id: Ticket.select(*DETAIL_COLUMNS).where(Ticket.id == ticket_id).first(),
    1,
    json_keys=["fields", "type_fields"],
)
_TAGS = Prepared(lambda ticket_id: TicketTag.select(TicketTag.tag).where(TicketTag.ticket == ticket_id), 1)


async def _load(ticket_id: int, tags: list[str] | None = None) -> dict:
    row = await _DETAIL.run(ticket_id)
    if row is None:
        raise NotFound("This ticket does not exist or you cannot see it.")
    row["tags"] = list(tags) if tags is not None else [r["tag"] for r in await _TAGS.run(ticket_id)]
    return row


async def _activity(activity_id: int) -> dict:
    return (
        await TicketActivity.select(*ACTIVITY_COLUMNS)
        .where(TicketActivity.id == activity_id)
        .first()
        .output(load_json=True)
    )


async def get_ticket(user: CurrentUser, ticket_id: int) -> dict:
    ticket = await _load(ticket_id)
    if ticket["deleted_at"] is not None or not await policy.can_view(user, ticket):
        raise NotFound("This ticket does not exist or you cannot see it.")
    return ticket


def _conflict() -> Conflict:
    return Conflict(
        "This ticket was changed by someone else after you opened it. Reload to see their changes, then try again."
    )


async def _check_status_move(ticket: dict, target: str) -> list[FieldError]:
    if target not in workflow.STATUSES:
        return [FieldError("status", "Unknown status.")]
    if target == ticket["status"] or workflow.can_move(ticket["status"], target):
        if target in workflow.DONE_STATUSES and await Ticket.exists().where(
            (Ticket.parent == ticket["id"])
            & Ticket.status.is_in(list(workflow.OPEN_STATUSES))
            & Ticket.deleted_at.is_null()
        ):
            return [FieldError("status", "This ticket has open child tickets; finish them first.")]
        return []
    return [FieldError("status", "A ticket cannot move from “%(from)s” to “%(to)s”.")]


def _status_error_params(ticket: dict, target: str) -> dict:
    return {
        "from": workflow.STATUSES.get(ticket["status"], ticket["status"]),
        "to": workflow.STATUSES.get(target, target),
    }


async def update_ticket(
    actor: CurrentUser, ticket_id: int, changes: dict, *, version: int | None, clock: Clock = system_clock
) -> dict:
    """The single mutation path for pages, the board and the API.

    `changes` may hold title, description, priority, status, assignee, student, class_group, campus,
    fields (a partial dict of custom values) and tags (the full new list).
    """
    ticket = await get_ticket(actor, ticket_id)
    if not policy.can_work(actor, ticket):
        raise Forbidden("Only the service desk or the assignee can change this ticket.")
    if version is not None and version != ticket["version"]:
        raise _conflict()
    new, errors = await _clean_changes(ticket, changes)
    await _check_changed_choices(actor, ticket, new, errors)
    if errors:
        raise ValidationFailed(errors)
    diff = {k: [ticket[k], v] for k, v in new.items() if k not in ("fields", "tags") and ticket[k] != v}
    field_diff = {
        k: [ticket["fields"].get(k), v] for k, v in new.get("fields", {}).items() if ticket["fields"].get(k) != v
    }
    tags_diff = None if "tags" not in new or sorted(ticket["tags"]) == new["tags"] else [ticket["tags"], new["tags"]]
    if not diff and not field_diff and tags_diff is None:
        return ticket
    _implied_status(ticket, diff)
    now = clock.now()
    async with UnitOfWork() as uow:
        updates = {getattr(Ticket, k): pair[1] for k, pair in diff.items()}
        updates.update(_lifecycle_stamps(ticket, diff, now))
        if field_diff or "title" in diff or "description" in diff:
            merged = {**ticket["fields"], **new.get("fields", {})}
            updates[Ticket.fields] = merged
            updates[Ticket.search_text] = _search_text(
                diff.get("title", [0, ticket["title"]])[1],
                diff.get("description", [0, ticket["description"]])[1],
                ticket["type_fields"],
                merged,
            )
        where = (Ticket.id == ticket_id) & (Ticket.version == ticket["version"])
        done = (
            await Ticket.update({**updates, Ticket.version: Ticket.version + 1, Ticket.updated_at: now})
            .where(where)
            .returning(Ticket.id)
        )
        if not done:
            raise _conflict()
        if tags_diff is not None:
            await TicketTag.delete().where(TicketTag.ticket == ticket_id)
            if new["tags"]:
                await TicketTag.insert(*[TicketTag(ticket=ticket_id, tag=t) for t in new["tags"]])
        await _record_activity(actor, ticket_id, diff, field_diff, tags_diff, now)
        await _notify_assignment(uow, actor, ticket, diff)
        status = diff.get("status", [None, ticket["status"]])[1]
        uow.emit(
            Event(
                "ticket.updated",
                {
                    **_event_payload(
                        ticket_id,
                        status,
                        ticket["status"] if "status" in diff else None,
                        {
                            "assignee": diff.get("assignee", [0, ticket["assignee"]])[1],
                            "campus": ticket["campus"],
                            "priority": diff.get("priority", [0, ticket["priority"]])[1],
                        },
                        ticket["type_code"],
                        ticket["version"] + 1,
                    ),
                    "old_assignee": ticket["assignee"],
                    "fields": sorted([*diff, *(["fields"] if field_diff else [])]),
                },
                audience=of_ticket(ticket_id, ticket),
            )
        )
    return await _load(ticket_id)


async def _clean_changes(ticket: dict, changes: dict) -> tuple[dict, list[FieldError]]:
    new: dict = {}
    errors: list[FieldError] = []
    unknown = set(changes) - {*SIMPLE_FIELDS, "fields", "tags"}
    errors += [FieldError(k, "This field cannot be changed.") for k in sorted(unknown)]
    if "title" in changes or "description" in changes or "priority" in changes:
        draft = Draft(
            type=ticket["type_code"],
            title=changes.get("title", ticket["title"]),
            description=changes.get("description", ticket["description"]),
            priority=changes.get("priority", ticket["priority"]),
            channel=ticket["channel"],
        )
        basics, basic_errors = _clean_basics(draft, {"default_priority": ticket["priority"]})
        errors += [e for e in basic_errors if e.field in changes]
        new.update({k: basics[k] for k in ("title", "description", "priority") if k in changes})
    for name in ("student", "class_group", "campus", "assignee"):
        if name in changes:
            value = changes[name]
            if value in ("", None):
                new[name] = None
            elif (number := parse_int(value)) is not None:
                new[name] = number
            else:
                errors.append(FieldError(f"{name}_id", "Unknown record."))
    await _check_references(new, errors)
    if "status" in changes:
        target = str(changes["status"] or "")
        status_errors = await _check_status_move(ticket, target)
        for e in status_errors:
            if "%(from)s" in e.message:
                from app.core.i18n import gettext

                e.message = gettext(
                    e.message, **{k: gettext(v) for k, v in _status_error_params(ticket, target).items()}
                )
        errors += status_errors
        new["status"] = target
    if "fields" in changes:
        raw = changes["fields"] if isinstance(changes["fields"], dict) else None
        if raw is None:
            errors.append(FieldError("fields", "Send an object of field values."))
        else:
            values, field_errors = ticket_fields.clean_values(ticket["type_fields"], raw, partial=True)
            new["fields"], errors = values, errors + field_errors
    if "tags" in changes:
        new["tags"], tag_errors = _clean_tags(changes["tags"])
        errors += tag_errors
    return new, errors


async def _check_changed_choices(actor: CurrentUser, ticket: dict, new: dict, errors: list[FieldError]) -> None:
    """A change may name only students and classes the actor could pick, and assign only people
    the form lists, as on creation; values the ticket already holds stay (the change keeps them)."""
    named: dict[str, dict[str, int]] = {}
    for kind, column in (("student", "student_id"), ("class_group", "class_group_id")):
        named[kind] = {column: new[kind]} if new.get(kind) is not None and new[kind] != ticket[kind] else {}
        changed = {k: v for k, v in new.get("fields", {}).items() if ticket["fields"].get(k) != v}
        named[kind].update(_ids_of(ticket["type_fields"], changed, kind))
    await _check_choices(actor, named, errors)
    if "assignee" in new and new["assignee"] != ticket["assignee"]:
        await _check_assignee(actor, new["assignee"], errors)


def _implied_status(ticket: dict, diff: dict) -> None:
    """Assigning a new ticket makes it 'assigned'; unassigning an assigned one returns it to 'new'."""
    if "status" in diff or "assignee" not in diff:
        return
    if diff["assignee"][1] is not None and ticket["status"] == "new":
        diff["status"] = ["new", "assigned"]
    elif diff["assignee"][1] is None and ticket["status"] == "assigned":
        diff["status"] = ["assigned", "new"]


def _lifecycle_stamps(ticket: dict, diff: dict, now: datetime) -> dict:
    if "status" not in diff:
        return {}
    target = diff["status"][1]
    stamps = {}
    if target == "resolved":
        stamps[Ticket.resolved_at] = now
    if target == "closed":
        stamps[Ticket.closed_at] = now
    if workflow.is_reopen(ticket["status"], target):
        stamps[Ticket.resolved_at] = None
        stamps[Ticket.closed_at] = None
    return stamps


async def _record_activity(actor, ticket_id, diff, field_diff, tags_diff, now) -> None:
    rows = []
    # A change with no person behind it (an automation rule) says so: the timeline names it.
    by = {"by": actor.username} if actor.id is None else {}
    for kind, keys in (("status", ("status",)), ("assign", ("assignee",)), ("priority", ("priority",))):
        picked = {k: diff[k] for k in keys if k in diff}
        if picked:
            rows.append(
                TicketActivity(ticket=ticket_id, actor=actor.id, kind=kind, changes={**picked, **by}, created_at=now)
            )
    rest = {k: v for k, v in diff.items() if k not in ("status", "assignee", "priority")}
    if field_diff:
        rest.update({f"fields.{k}": v for k, v in field_diff.items()})
    if tags_diff is not None:
        rest["tags"] = tags_diff
    if rest:
        rows.append(
            TicketActivity(ticket=ticket_id, actor=actor.id, kind="fields", changes={**rest, **by}, created_at=now)
        )
    if rows:
        await TicketActivity.insert(*rows)


async def _notify_assignment(uow: UnitOfWork, actor: CurrentUser, ticket: dict, diff: dict) -> None:
    if "assignee" in diff and diff["assignee"][1] not in (None, actor.id):
        await notify(
            uow,
            [diff["assignee"][1]],
            kind="ticket_assigned",
            title=f"{ticket['number']} {ticket['title']}",
            link=f"/tickets/{ticket['id']}",
        )


async def claim_ticket(actor: CurrentUser, ticket_id: int, clock: Clock = system_clock) -> dict:
    """Take an unassigned ticket. Atomic: of many people claiming at once, exactly one wins.
    Only people who could work the ticket once it is theirs may take it: the desk."""
    ticket = await get_ticket(actor, ticket_id)
    if not policy.can_work(actor, ticket):
        raise Forbidden("Only the service desk can claim tickets.")
    now = clock.now()
    async with UnitOfWork() as uow:
        won = (
            await Ticket.update(
                {
                    Ticket.assignee: actor.id,
                    Ticket.version: Ticket.version + 1,
                    Ticket.updated_at: now,
                    Ticket.status: "assigned" if ticket["status"] == "new" else ticket["status"],
                }
            )
            .where((Ticket.id == ticket_id) & Ticket.assignee.is_null())
            .returning(Ticket.id, Ticket.status)
        )
        if not won:
            raise Conflict("Someone else has already taken this ticket.")
        changes = {"assignee": [None, actor.id]}
        if won[0]["status"] != ticket["status"]:
            changes["status"] = [ticket["status"], won[0]["status"]]
        await TicketActivity.insert(
            TicketActivity(ticket=ticket_id, actor=actor.id, kind="assign", changes=changes, created_at=now)
        )
        uow.emit(
            Event(
                "ticket.updated",
                {
                    **_event_payload(
                        ticket_id,
                        won[0]["status"],
                        ticket["status"] if "status" in changes else None,
                        {"assignee": actor.id, "campus": ticket["campus"], "priority": ticket["priority"]},
                        ticket["type_code"],
                        ticket["version"] + 1,
                    ),
                    "old_assignee": None,
                    "fields": sorted(changes),
                },
                audience=of_ticket(ticket_id),
            )
        )
    return await _load(ticket_id)


async def add_message(
    actor: CurrentUser,
    ticket_id: int,
    body: str,
    *,
    public: bool,
    clock: Clock = system_clock,
    version: int | None = None,
    uploads: list[Upload] | tuple[Upload, ...] = (),
) -> Written:
    """A reply (visible to the requester) or an internal note, with its files; anyone who sees the
    ticket may write one; @username mentions notify. `version`: the one the form was rendered with
    (a stale one is refused before any file is written)."""
    ticket = await get_ticket(actor, ticket_id)
    if version is not None and version != ticket["version"]:
        raise _conflict()
    attachments.check_uploads(list(uploads))
    body = (body or "").strip()
    if not body:
        raise ValidationFailed.one("body", "Write something first.")
    if len(body) > 10000:
        raise ValidationFailed.one("body", "At most 10,000 characters.")
    names = sorted(set(MENTION_RE.findall(body)))
    mentioned = await User.select(User.id).where(User.username.is_in(names) & User.is_active.eq(True)) if names else []
    mentioned_ids = [r["id"] for r in mentioned if r["id"] != actor.id]
    now = clock.now()
    files = await attachments.write_files(list(uploads), now)
    try:
        async with UnitOfWork() as uow:
            rows = await TicketActivity.insert(
                TicketActivity(
                    ticket=ticket_id,
                    actor=actor.id,
                    kind="reply" if public else "note",
                    body=body,
                    is_public=public,
                    changes={"mentions": mentioned_ids} if mentioned_ids else {},
                    created_at=now,
                )
            ).returning(TicketActivity.id)
            saved = await attachments.record(actor, ticket_id, files, activity_id=rows[0]["id"], now=now)
            stamps = {Ticket.updated_at: now, Ticket.version: Ticket.version + 1}
            if public and ticket["first_response_at"] is None:
                stamps[Ticket.first_response_at] = now
            await Ticket.update(stamps).where(Ticket.id == ticket_id)
            title = f"{ticket['number']} {ticket['title']}"
            await notify(
                uow,
                mentioned_ids,
                kind="mention",
                title=title,
                body=body[:200],
                link=f"/tickets/{ticket_id}#a{rows[0]['id']}",
            )
            others = await _followers(ticket, exclude={actor.id, *mentioned_ids})
            await notify(uow, others, kind="ticket_message", title=title, body=body[:200], link=f"/tickets/{ticket_id}")
            uow.emit(
                Event(
                    "ticket.message",
                    {"id": ticket_id, "activity": rows[0]["id"], "public": public, "version": ticket["version"] + 1},
                    audience=of_ticket(ticket_id),
                )
            )
    except BaseException:
        attachments.discard_files(files)
        raise
    return Written(await _load(ticket_id), await _activity(rows[0]["id"]), saved)


async def _followers(ticket: dict, exclude: set[int]) -> list[int]:
    watchers = await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == ticket["id"])
    ids = {w["user"] for w in watchers} | ({ticket["assignee"]} if ticket["assignee"] else set())
    return sorted(ids - exclude)


async def set_watching(actor: CurrentUser, ticket_id: int, watching: bool) -> bool:
    await get_ticket(actor, ticket_id)
    await TicketWatcher.delete().where((TicketWatcher.ticket == ticket_id) & (TicketWatcher.user == actor.id))
    if watching:
        await TicketWatcher.insert(TicketWatcher(ticket=ticket_id, user=actor.id))
    return watching
