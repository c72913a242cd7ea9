"""What a rule can do to a ticket. Each action goes through the tickets' own service functions (or,
where those have no path for it, its own unit of work with a timeline entry and an event), acting as
the "automation" system user, so every rule the tickets enforce still holds.

Each returns a short detail for the run log (a Note, translated when shown, or plain data such as a
name), or raises ActionFailed to mark the action failed.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.core.clock import Clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, ValidationFailed
from app.core.events import Event
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.notifications.outbox import queue_webhook
from app.notifications.services import notify
from app.notifications.webhook_targets import saving_problem
from app.tickets import services as tickets
from app.tickets.audience import of_ticket
from app.tickets.relations import services as relations
from app.tickets.types.fields import FIELD_TYPES
from tables.accounts.tables import Team, User
from tables.automation.tables import ReplyTemplate
from tables.tickets.tables import Ticket, TicketActivity

# Admin rights over tickets, no person behind it: timeline rows it writes have no actor.
SYSTEM = CurrentUser(
    id=None,
    username="automation",
    display_name="Automation",
    role="admin",  # type: ignore[arg-type]
    team_id=None,
    campus_id=None,
)


# Tries of a change that meets a concurrent write. Each failed try means another writer succeeded,
# so the tries only run out when that many writes landed in between: the worker runs up to ten
# jobs at once, and a burst of rule runs on one ticket (each with several actions) beat one action
# five times in a row on a loaded PostgreSQL run. A short random pause breaks lock-step rivals.
ATTEMPTS = 20


async def _after_conflict(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))


@dataclass(frozen=True)
class Note:
    """A run-log detail as a message id and its parameters: the log and timeline show it in the
    reader's language; `english` is what the error column and the server log keep."""

    text: str
    params: dict = field(default_factory=dict)
    # False when the action found the ticket as wanted already (or nobody to tell): a run of such
    # actions only is kept in the run log, not on the ticket's timeline.
    changed: bool = True

    @property
    def english(self) -> str | Note:
        return self.text % self.params if self.params else self.text


def unchanged(text: str, **params) -> Note:
    return Note(text, params, changed=False)


class ActionFailed(Exception):
    def __init__(self, text: str, **params) -> None:
        self.note = Note(text, params)
        super().__init__(self.note.english)


PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


def fill(text: str, ticket: dict) -> str | Note:
    """Placeholders of reply templates and follow-up titles; unknown ones, stray braces and anything
    like "{student.name}" stay as written (str.format would read attributes and fail on them)."""
    from app.core.i18n import gettext
    from app.tickets.workflow import PRIORITIES, STATUSES

    values = {
        "number": ticket["number"],
        "title": ticket["title"],
        "requester": ticket.get("requester_name") or "",
        "status": gettext(STATUSES.get(ticket["status"], ticket["status"])),
        "priority": gettext(PRIORITIES.get(ticket["priority"], ticket["priority"])),
        "student": ticket.get("student_name") or "",
    }
    return PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def _event(ticket: dict, fields: list[str], **extra) -> Event:
    return Event(
        "ticket.updated",
        {
            "id": ticket["id"],
            "status": ticket["status"],
            "old_status": None,
            "assignee": ticket["assignee"],
            "campus": ticket["campus"],
            "priority": ticket["priority"],
            "type": ticket["type_code"],
            "version": ticket["version"] + 1,
            "old_assignee": ticket["assignee"],
            "fields": fields,
            **extra,
        },
        audience=of_ticket(ticket["id"], ticket),
    )


async def _update(ticket_id: int, change_for: Callable[[dict], dict | None], clock: Clock) -> bool:
    """Apply `change_for(ticket as it is now)` on exactly the version it was computed from; False when
    there was nothing to change. Someone else writing in between (a person, the rules of another
    trigger in another worker) is a version conflict: read again and recompute, so their change is
    kept (a tag list built from a stale read would drop their tag) and ours is not lost either."""
    for attempt in range(ATTEMPTS):
        fresh = await tickets.get_ticket(SYSTEM, ticket_id)
        changes = change_for(fresh)
        if changes is None:
            return False
        try:
            await tickets.update_ticket(SYSTEM, ticket_id, changes, version=fresh["version"], clock=clock)
            return True
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise ActionFailed(N_("the ticket kept changing meanwhile")) from None
            await _after_conflict(attempt)
        except ValidationFailed as exc:
            raise ActionFailed("; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from None
    return False


async def assign_person(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    user = (
        await User.select(User.id, User.display_name)
        .where((User.id == params["user"]) & User.is_active.eq(True))
        .first()
    )
    if user is None:
        raise ActionFailed(N_("that person's account is no longer active"))
    wanted = user["id"]
    changed = await _update(ticket["id"], lambda t: None if t["assignee"] == wanted else {"assignee": wanted}, clock)
    return user["display_name"] if changed else unchanged(N_("already with %(name)s"), name=user["display_name"])


async def assign_team(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    """Into the team's queue: the team is set and the ticket waits unassigned for its members."""
    team = await Team.select(Team.id, Team.name).where(Team.id == params["team"]).first()
    if team is None:
        raise ActionFailed(N_("that team no longer exists"))
    for attempt in range(ATTEMPTS):
        if attempt:
            await _after_conflict(attempt)
        current = (
            await Ticket.select(Ticket.team, Ticket.assignee, Ticket.status, Ticket.version)
            .where(Ticket.id == ticket["id"])
            .first()
        )
        if current["team"] == team["id"] and current["assignee"] is None:
            return unchanged(N_("already in %(team)s"), team=team["name"])
        if await _into_queue(ticket, team, current, clock):
            return team["name"]
    raise ActionFailed(N_("the ticket kept changing meanwhile"))


async def _into_queue(ticket: dict, team: dict, current: dict, clock: Clock) -> bool:
    """One attempt on the version read in `current`; False when someone else wrote first."""
    now = clock.now()
    status = "new" if current["status"] == "assigned" else current["status"]
    async with UnitOfWork() as uow:
        done = (
            await Ticket.update(
                {
                    Ticket.team: team["id"],
                    Ticket.assignee: None,
                    Ticket.status: status,
                    Ticket.version: Ticket.version + 1,
                    Ticket.updated_at: now,
                }
            )
            .where((Ticket.id == ticket["id"]) & (Ticket.version == current["version"]))
            .returning(Ticket.id)
        )
        if not done:
            return False
        # Names, not ids: the timeline shows the team as it was called then.
        old_team = await Team.select(Team.name).where(Team.id == current["team"]).first() if current["team"] else None
        changes: dict = {"team": [old_team["name"] if old_team else None, team["name"]]}
        if current["assignee"] is not None:
            changes["assignee"] = [current["assignee"], None]
        if status != current["status"]:
            changes["status"] = [current["status"], status]
        await TicketActivity.insert(
            TicketActivity(ticket=ticket["id"], kind="assign", changes={**changes, "by": "automation"}, created_at=now)
        )
        fresh = {**ticket, "status": status, "assignee": None, "version": current["version"]}
        uow.emit(
            Event(
                "ticket.updated",
                {
                    **_event(fresh, sorted(changes)).payload,
                    "old_status": current["status"] if status != current["status"] else None,
                    "old_assignee": current["assignee"],
                },
                audience=of_ticket(ticket["id"], current),
            )
        )
    return True


async def set_priority(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    wanted = params["priority"]
    changed = await _update(ticket["id"], lambda t: None if t["priority"] == wanted else {"priority": wanted}, clock)
    from app.tickets.workflow import PRIORITIES

    return Note(PRIORITIES.get(wanted, wanted)) if changed else unchanged(N_("unchanged"))


async def add_tag(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    tag = params["tag"]
    changed = await _update(ticket["id"], lambda t: None if tag in t["tags"] else {"tags": [*t["tags"], tag]}, clock)
    return tag if changed else unchanged(N_("already tagged"))


async def notify_role(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    """Everyone active in the role, limited to the ticket's campus (and staff of no campus) when it has one."""
    where = (User.role == params["role"]) & User.is_active.eq(True)
    if ticket["campus"] is not None:
        where &= (User.campus == ticket["campus"]) | User.campus.is_null()
    ids = [r["id"] for r in await User.select(User.id).where(where)]
    if not ids:
        return unchanged(N_("nobody in that role"))
    async with UnitOfWork() as uow:
        await notify(
            uow,
            ids,
            kind="automation",
            title=f"{ticket['number']} {ticket['title']}",
            body=rule["name"],
            link=f"/tickets/{ticket['id']}",
            dedupe_prefix=f"automation:{run_id}",
        )
    return Note(N_("%(n)s people notified"), {"n": len(ids)})


async def reply_template(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    """A public reply. It does not count as the first response: the SLA waits for a person."""
    template = await ReplyTemplate.select().where(ReplyTemplate.id == params["template"]).first()
    if template is None or not template["is_active"]:
        raise ActionFailed(N_("that reply template was removed or switched off"))
    body = fill(template["body"], ticket).strip()[:10000]
    if not body:
        raise ActionFailed(N_("the template is empty"))
    now = clock.now()
    async with UnitOfWork() as uow:
        rows = await TicketActivity.insert(
            TicketActivity(
                ticket=ticket["id"],
                kind="reply",
                body=body,
                is_public=True,
                created_at=now,
                changes={"by": "automation", "rule": rule["id"], "template": template["id"]},
            )
        ).returning(TicketActivity.id)
        await Ticket.update({Ticket.updated_at: now, Ticket.version: Ticket.version + 1}).where(
            Ticket.id == ticket["id"]
        )
        uow.emit(
            Event(
                "ticket.message",
                {
                    "id": ticket["id"],
                    "activity": rows[0]["id"],
                    "public": True,
                    "version": ticket["version"] + 1,
                    "by": "automation",
                },
                audience=of_ticket(ticket["id"]),
            )
        )
    return template["name"]


async def follow_up(ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock) -> str | Note:
    """A new ticket of the chosen type for the same student and campus, linked to this one. Its form's
    required fields stay empty for staff to fill, as for the public intake."""
    from app.core.i18n import gettext

    # Only the rule's own title has placeholders: the ticket's title is the public's text, taken as written.
    title = (
        fill(params["title"], ticket) if params.get("title") else gettext("Follow-up: %(title)s", title=ticket["title"])
    )
    title = title[:200]
    draft = tickets.Draft(
        type=params["type"],
        title=title,
        description=gettext("Follow-up of %(number)s.", number=ticket["number"]),
        priority=ticket["priority"],
        channel="internal",
        student_id=ticket.get("student"),
        class_group_id=ticket.get("class_group"),
        campus_id=ticket.get("campus"),
        requester_kind="staff",
        requester_name=ticket.get("requester_name") or "",
    )
    try:
        created = await tickets.create_ticket(None, draft, clock, optional_types=tuple(FIELD_TYPES))
    except ValidationFailed as exc:
        raise ActionFailed("; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from None
    for attempt in range(ATTEMPTS):  # linking bumps both tickets' versions: a concurrent write is a conflict
        try:
            await relations.link_tickets(SYSTEM, created["id"], ticket["id"], "related", clock=clock)
            break
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise ActionFailed(
                    N_("%(number)s created, but not linked: the ticket kept changing"), number=created["number"]
                ) from None
            await _after_conflict(attempt)
    return created["number"]


async def webhook(
    ticket: dict, params: dict, rule: dict, run_id: int, clock: Clock, *, trigger: str = "", index: int = 0
) -> str:
    """Queued in the outbox: retried with backoff, visible on /admin/outbox, at most once per run.
    A private address saved before saving refused it is not queued (delivery would refuse it too)."""
    if saving_problem(params["url"]):
        raise ActionFailed(N_("not sent: the address is not a public http(s) address (see WEBHOOK_ALLOW_PRIVATE)"))
    payload = {
        "event": f"automation.{trigger}",
        "rule": {"id": rule["id"], "name": rule["name"]},
        "run": run_id,
        "ticket": {
            "id": ticket["id"],
            "number": ticket["number"],
            "title": ticket["title"],
            "status": ticket["status"],
            "priority": ticket["priority"],
            "type": ticket["type_code"],
            "channel": ticket["channel"],
            "assignee_id": ticket["assignee"],
            "campus_id": ticket["campus"],
            "student_id": ticket.get("student"),
            "tags": ticket["tags"],
            "fields": ticket.get("fields") or {},
        },
        "sent_at": _iso(clock.now()),
    }
    async with UnitOfWork() as uow:
        row = await queue_webhook(uow, params["url"], f"automation.{trigger}", payload, f"automation:{run_id}:{index}")
    return Note(N_("queued as outgoing message #%(id)s"), {"id": row}) if row else unchanged(N_("queued before"))


def _iso(moment: datetime) -> str | Note:
    return moment.isoformat()


HANDLERS = {
    "assign_person": assign_person,
    "assign_team": assign_team,
    "set_priority": set_priority,
    "add_tag": add_tag,
    "notify_role": notify_role,
    "reply_template": reply_template,
    "follow_up": follow_up,
    "webhook": webhook,
}
