"""Public intake: the web form per ticket type, the requester's tracking page and replies.

No one is logged in here. A submission becomes a ticket with actor None and channel "web";
the requester keeps the tracking link (/track/<Ticket.tracking_token>), the only key to it.

Reference and attachment fields (student, class, attachment) are not offered to the public:
they would let anyone browse our students and classes, and uploads from strangers need their
own safeguards. The form asks for the student's and class's names as free text instead and
adds them to the description; staff link the records while triaging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, NotFound, Throttled, ValidationFailed
from app.core.events import Event
from app.core.i18n import gettext as _
from app.core.redis import get_redis
from app.leads.services import normalise_phone
from app.notifications.services import notify
from app.tickets import queries, services
from app.tickets.audience import of_ticket
from app.tickets.types import fields as ticket_fields
from tables.tickets.tables import Ticket, TicketActivity, TicketWatcher

STAFF_ONLY_TYPES = ("student", "class_group", "attachment")
DESCRIBED_TYPES = ("student", "class_group")  # asked as free text on the public form
SUBMIT_LIMIT, REPLY_LIMIT, WINDOW_SECONDS = 5, 20, 10 * 60
HONEYPOT = "website"  # hidden from people; bots fill every field they find
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PUBLIC_KINDS = {"guardian", "student"}
TRACK_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.description,
    Ticket.fields,
    Ticket.status,
    Ticket.priority,
    Ticket.campus,
    Ticket.assignee,
    Ticket.version,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.resolved_at,
    Ticket.closed_at,
    Ticket.csat_score,
    Ticket.csat_comment,
    Ticket.csat_at,
    Ticket.merged_into,
    Ticket.requester_name,
    Ticket.tracking_token,
    Ticket.ticket_type.name.as_alias("type_name"),
    Ticket.ticket_type.code.as_alias("type_code"),
    Ticket.ticket_type.fields.as_alias("type_fields"),
)


@dataclass
class Submission:
    """What the public form sends; `fields` holds the custom values by key (lists for multi-select)."""

    title: str = ""
    description: str = ""
    requester_name: str = ""
    requester_phone: str = ""
    requester_email: str = ""
    requester_kind: str = "guardian"
    student_name: str = ""
    fields: dict | None = None
    described: dict | None = None  # key -> free text for student/class fields
    honeypot: str = ""


def public_fields(type_row: dict) -> list[dict]:
    return [f for f in ticket_fields.active_fields(type_row["fields"]) if f["type"] not in STAFF_ONLY_TYPES]


def described_fields(type_row: dict) -> list[dict]:
    return [f for f in ticket_fields.active_fields(type_row["fields"]) if f["type"] in DESCRIBED_TYPES]


async def public_types() -> list[dict]:
    return [t for t in await services.ticket_types(active_only=True) if t["public_intake"]]


async def public_type(code: str) -> dict:
    row = await services.type_by_code(code)
    if row is None or not row["is_active"] or not row["public_intake"]:
        raise NotFound("This form does not exist.")
    return row


def requester_phone(raw: str) -> str | None:
    """A reachable number in national form; None when it is not one.

    normalise_phone accepts anything libphonenumber calls possible (even "12345"); a requester we
    must call back needs a mobile (11 digits), a landline with its area code or a 400/800 line.
    """
    phone = normalise_phone(raw)
    if phone is None or (phone and not phone.startswith("+") and len(phone) < 10):
        return None
    return phone


def _requester_errors(sub: Submission) -> tuple[str, list[FieldError]]:
    errors = []
    if not sub.requester_name.strip():
        errors.append(FieldError("requester_name", "Enter your name."))
    elif len(sub.requester_name.strip()) > 100:
        errors.append(FieldError("requester_name", "At most 100 characters."))
    phone = requester_phone(sub.requester_phone)
    if not sub.requester_phone.strip():
        errors.append(FieldError("requester_phone", "Enter a phone number so we can reach you."))
    elif phone is None:
        errors.append(FieldError("requester_phone", "Enter a mobile number or a landline with its area code."))
    if sub.requester_email.strip() and not EMAIL_RE.match(sub.requester_email.strip()):
        errors.append(FieldError("requester_email", "Enter a valid email address."))
    if sub.requester_kind not in PUBLIC_KINDS:
        errors.append(FieldError("requester_kind", "Choose one of the listed options."))
    if len(sub.student_name.strip()) > 100:
        errors.append(FieldError("student_name", "At most 100 characters."))
    errors += [FieldError(f"about.{k}", "Too long.") for k, v in (sub.described or {}).items() if len(v) > 200]
    return phone or "", errors


def _form_errors(type_row: dict, sub: Submission) -> list[FieldError]:
    """The type's own rules for what the public fills in (title and the public custom fields)."""
    errors = []
    if not sub.title.strip():
        errors.append(FieldError("title", "Enter a title."))
    elif len(sub.title.strip()) > 200:
        errors.append(FieldError("title", "At most 200 characters."))
    if len(sub.description) > 8000:
        errors.append(FieldError("description", "At most 8,000 characters."))
    _values, field_errors = ticket_fields.clean_values(public_fields(type_row), sub.fields or {})
    described = sub.described or {}
    errors += [
        FieldError(f"about.{f['key']}", "This field is required.")
        for f in described_fields(type_row)
        if f["required"] and not described.get(f["key"], "").strip()
    ]
    return errors + field_errors


def _description(type_row: dict, sub: Submission) -> str:
    """The requester's text, followed by what they told us about the student and class."""
    lines = [sub.description.strip()]
    facts = []
    if sub.student_name.strip():
        facts.append(_("%(label)s: %(value)s", label=_("Student name"), value=sub.student_name.strip()))
    for field in described_fields(type_row):
        value = (sub.described or {}).get(field["key"], "").strip()
        if value:
            facts.append(_("%(label)s: %(value)s", label=field["label"], value=value))
    if facts:
        lines += ["", *facts]
    return "\n".join(lines).strip()


async def _take_slot(key: str, limit: int) -> None:
    """Count one use for this client; Throttled once the window's limit is spent."""
    redis = get_redis()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS, nx=True)
        pipe.ttl(key)
        count, _set, ttl = await pipe.execute()
    if count > limit:
        minutes = max(1, (max(ttl, 0) + 59) // 60)
        raise Throttled(
            _("Too many submissions from your network. Please try again in %(minutes)s minutes.", minutes=minutes)
        )


async def submit(type_row: dict, sub: Submission, ip: str, clock: Clock = system_clock) -> dict | None:
    """Open a ticket from the public form (`type_row` from public_type); None when the honeypot
    caught a bot: nothing is stored, and the caller shows the same success."""
    phone, errors = _requester_errors(sub)
    errors += _form_errors(type_row, sub)
    if errors and not sub.honeypot:
        raise ValidationFailed(errors)
    await _take_slot(f"shuyuan:intake:submit:{ip}", SUBMIT_LIMIT)
    if sub.honeypot:
        return None
    draft = services.Draft(
        type=type_row["code"],
        title=sub.title,
        description=_description(type_row, sub),
        channel="web",
        fields=sub.fields or {},
        requester_kind=sub.requester_kind,
        requester_name=sub.requester_name,
        requester_phone=phone,
        requester_email=sub.requester_email.strip(),
    )
    return await services.create_ticket(None, draft, clock=clock, optional_types=STAFF_ONLY_TYPES)


async def ticket_by_token(token: str) -> dict:
    if len(token or "") < 20:
        raise NotFound("This tracking link is not valid.")
    row = (
        await Ticket.select(*TRACK_COLUMNS)
        .where((Ticket.tracking_token == token) & Ticket.deleted_at.is_null())
        .first()
        .output(load_json=True)
    )
    if row is None:
        raise NotFound("This tracking link is not valid.")
    return row


async def public_timeline(ticket_id: int) -> list[dict]:
    """What the requester may read: creation, status changes and public replies; never internal notes."""
    entries = await queries.timeline(ticket_id, public_only=True)
    return [e for e in entries if e["kind"] != "reply" or e["is_public"]]


def shown_values(ticket: dict) -> list[tuple[str, object]]:
    """(label, value) of the custom fields the requester could fill in, in form order."""
    by_key = {f["key"]: f for f in ticket["type_fields"] if f["type"] not in STAFF_ONLY_TYPES}
    ordered = sorted(by_key.values(), key=lambda f: f.get("order", 0))
    values = ticket["fields"]
    return [(f["label"], values[f["key"]]) for f in ordered if values.get(f["key"]) not in (None, "", [])]


async def add_requester_reply(token: str, body: str, ip: str, clock: Clock = system_clock) -> dict:
    """A public reply from the requester; on a ticket waiting for them ("pending") work resumes."""
    ticket = await ticket_by_token(token)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed.one("body", "Write something first.")
    if len(body) > 5000:
        raise ValidationFailed.one("body", "At most 5,000 characters.")
    if ticket["status"] == "closed":
        raise ValidationFailed.one("body", "This request is closed. Please submit a new one.")
    await _take_slot(f"shuyuan:intake:reply:{ip}", REPLY_LIMIT)
    now = clock.now()
    async with UnitOfWork() as uow:
        # The first UPDATE locks the row, so the status read back is the one we change.
        bumped = (
            await Ticket.update({Ticket.version: Ticket.version + 1, Ticket.updated_at: now})
            .where(Ticket.id == ticket["id"])
            .returning(Ticket.status, Ticket.version)
        )
        status, version = bumped[0]["status"], bumped[0]["version"]
        resumed = status == "pending"
        if resumed:
            await Ticket.update({Ticket.status: "in_progress"}).where(Ticket.id == ticket["id"])
        activity_id = await _write_reply(uow, ticket, body, resumed, now)
        uow.emit(
            Event(
                "ticket.message",
                {"id": ticket["id"], "activity": activity_id, "public": True, "version": version},
                audience=of_ticket(ticket["id"]),
            )
        )
        if resumed:
            uow.emit(
                Event(
                    "ticket.updated",
                    {
                        "id": ticket["id"],
                        "status": "in_progress",
                        "old_status": "pending",
                        "assignee": ticket["assignee"],
                        "campus": ticket["campus"],
                        "priority": ticket["priority"],
                        "type": ticket["type_code"],
                        "version": version,
                        "old_assignee": ticket["assignee"],
                        "fields": ["status"],
                    },
                    audience=of_ticket(ticket["id"]),
                )
            )
    return await ticket_by_token(token)


async def _write_reply(uow: UnitOfWork, ticket: dict, body: str, resumed: bool, now) -> int:
    rows = [
        TicketActivity(
            ticket=ticket["id"], kind="reply", body=body, is_public=True, changes={"by": "requester"}, created_at=now
        )
    ]
    if resumed:
        rows.append(
            TicketActivity(
                ticket=ticket["id"],
                kind="status",
                created_at=now,
                changes={"status": ["pending", "in_progress"], "by": "requester"},
            )
        )
    inserted = await TicketActivity.insert(*rows).returning(TicketActivity.id)
    watchers = await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == ticket["id"])
    followers = {w["user"] for w in watchers} | ({ticket["assignee"]} if ticket["assignee"] else set())
    await notify(
        uow,
        sorted(followers),
        kind="ticket_message",
        title=f"{ticket['number']} {ticket['title']}",
        body=body[:200],
        link=f"/tickets/{ticket['id']}",
    )
    return inserted[0]["id"]
