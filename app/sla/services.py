"""A ticket's SLA: snapshot at creation, recompute from history, the points the worker acts on.

`recompute` runs inside every ticket write's transaction (app/sla/reactions.py); the scan
(app/sla/scan.py) and the ticket page read what it stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.calendars.hours import BusinessHours, NeverOpenError, add_business_minutes
from app.core.db import UnitOfWork
from app.core.events import Event
from app.core.prepared import Prepared, PreparedInsert
from app.sla import policies
from app.sla.clock import DONE_STATUSES, TARGETS, SlaState, Step, compute
from app.tickets.audience import of_ticket
from tables.sla.tables import SlaAction, TicketSla
from tables.tickets.tables import Ticket, TicketActivity

TICKET_COLUMNS = (
    Ticket.id,
    Ticket.ticket_type,
    Ticket.campus,
    Ticket.status,
    Ticket.priority,
    Ticket.assignee,
    Ticket.created_at,
    Ticket.deleted_at,
    Ticket.due_at,
)
DUE_COLUMNS = {
    "first_response": "first_response_due",
    "next_response": "next_response_due",
    "resolution": "resolution_due",
}
BREACH_COLUMNS = {name: f"{name}_breached_at" for name in TARGETS}


async def hours_for(campus_id: int | None) -> BusinessHours:
    from app.calendars.services import hours_for_campus

    return await hours_for_campus(campus_id)


@dataclass(frozen=True)
class Point:
    """Something the worker must do at `at` exactly once: (rule, due_key) is its SlaAction key."""

    at: datetime
    rule: str
    due_key: str
    target: str = ""
    due: datetime | None = None


def due_key(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def action_points(ticket: dict, sla: dict, hours: BusinessHours) -> list[Point]:
    """Reminders, unclaimed escalation and breaches of one ticket, from its stored open dues."""
    if ticket.get("deleted_at") is not None or ticket["status"] in DONE_STATUSES:
        return []
    policy = (sla.get("targets") or {}).get(ticket["priority"]) or {}
    points = []
    for name, column in DUE_COLUMNS.items():
        due = sla.get(column)
        if due is None:
            continue
        key = due_key(due)
        if policy.get("remind_before"):
            points.append(Point(due - timedelta(minutes=policy["remind_before"]), f"remind:{name}", key, name, due))
        points.append(Point(due, f"breach:{name}", key, name, due))
    if ticket["assignee"] is None and policy.get("escalate_unclaimed"):
        try:
            at = add_business_minutes(hours, ticket["created_at"], policy["escalate_unclaimed"])
        except NeverOpenError:
            at = None
        if at is not None:
            points.append(Point(at, "escalate:unclaimed", due_key(at)))
    return points


# Run on every ticket write: compiled once (app/core/prepared.py) instead of built each time.
_DONE_KEYS = Prepared(
    lambda ticket_id: SlaAction.select(SlaAction.rule, SlaAction.due_key).where(SlaAction.ticket == ticket_id), 1
)
_HISTORY = Prepared(
    lambda ticket_id: (
        TicketActivity.select(
            TicketActivity.created_at, TicketActivity.kind, TicketActivity.is_public, TicketActivity.changes
        )
        .where(TicketActivity.ticket == ticket_id)
        .order_by(TicketActivity.created_at)
        .order_by(TicketActivity.id)
    ),
    1,
    json_keys=["changes"],
)
_SLA = Prepared(
    lambda ticket_id: TicketSla.select().where(TicketSla.ticket == ticket_id).first(),
    1,
    json_keys=["targets", "paused_statuses"],
)
_TICKET = Prepared(lambda ticket_id: Ticket.select(*TICKET_COLUMNS).where(Ticket.id == ticket_id).first(), 1)
_INSERT_SLA = PreparedInsert(TicketSla)
_SET_DUE = Prepared(lambda due, ticket_id: Ticket.update({Ticket.due_at: due}).where(Ticket.id == ticket_id), 2)


async def done_keys(ticket_id: int) -> set[tuple[str, str]]:
    rows = await _DONE_KEYS.run(ticket_id)
    return {(r["rule"], r["due_key"]) for r in rows}


def next_scan(points: list[Point], done: set[tuple[str, str]]) -> datetime | None:
    pending = [p.at for p in points if (p.rule, p.due_key) not in done]
    return min(pending) if pending else None


async def history(ticket_id: int) -> list[Step]:
    rows = await _HISTORY.run(ticket_id)
    return [Step(r["created_at"], r["kind"], bool(r["is_public"]), r["changes"] or {}) for r in rows]


async def new_snapshot(ticket: dict) -> dict:
    """The policies of every priority of the ticket's type and the paused statuses, as of now (not stored)."""
    targets = await policies.snapshot(ticket["ticket_type"])
    paused = await policies.paused_statuses()
    return {
        "ticket": ticket["id"],
        "targets": targets,
        "paused_statuses": paused,
        **dict.fromkeys((*DUE_COLUMNS.values(), *BREACH_COLUMNS.values())),
    }


async def load_sla(ticket_id: int) -> dict | None:
    return await _SLA.run(ticket_id)


async def load_ticket(ticket_id: int) -> dict | None:
    """The ticket columns the SLA computations read."""
    return await _TICKET.run(ticket_id)


def state_of(ticket: dict, sla: dict, hours: BusinessHours, steps: list[Step]) -> SlaState:
    return compute(
        sla["targets"] or {},
        frozenset(sla["paused_statuses"] or ()),
        hours,
        ticket["created_at"],
        steps,
        status=ticket["status"],
        priority=ticket["priority"],
    )


async def recompute(ticket_id: int, *, created: bool = False, uow: UnitOfWork | None = None) -> None:
    """Derive the ticket's dues from its history and store them (inside the caller's transaction).

    Sets Ticket.due_at to the earliest open due (NULL when nothing is due or the clocks are paused)
    and TicketSla.scan_at to the next point the worker has to act on."""
    ticket = await _TICKET.run(ticket_id)
    if ticket is None:
        return
    # On ticket.created there is no row yet: the snapshot is taken and inserted with its dues at once.
    sla = None if created else await load_sla(ticket_id)
    created = sla is None
    if sla is None:
        sla = await new_snapshot(ticket)
    hours = await hours_for(ticket["campus"])
    # A ticket being created has only its "created" row, which says what the ticket row says (status,
    # priority at created_at): compute() takes those from the ticket when the history is empty.
    steps = [] if created else await history(ticket_id)
    state = state_of(ticket, sla, hours, steps)
    as_of = max([ticket["created_at"], *(s.at for s in steps)])
    open_dues = {
        name: (t.due if t.due is not None and t.met_at is None and t.running else None)
        for name, t in state.targets.items()
    }
    if ticket["deleted_at"] is not None:
        open_dues = dict.fromkeys(open_dues)
    values = {getattr(TicketSla, DUE_COLUMNS[name]): due for name, due in open_dues.items()}
    for name, target in state.targets.items():
        breached = target.breached_at(as_of)
        if breached is not None and sla.get(BREACH_COLUMNS[name]) is None:
            values[getattr(TicketSla, BREACH_COLUMNS[name])] = breached
    fresh = {**sla, **{DUE_COLUMNS[n]: d for n, d in open_dues.items()}}
    done = set() if created else await done_keys(ticket_id)
    if await _record_late_answers(ticket_id, state, done) and uow is not None:
        # The same event as the scan's breach (app/sla/scan.py): rules on "breached" run for it too.
        uow.emit(
            Event(
                "ticket.updated",
                {
                    "id": ticket_id,
                    "status": ticket["status"],
                    "old_status": None,
                    "assignee": ticket["assignee"],
                    "campus": ticket["campus"],
                    "priority": ticket["priority"],
                    "fields": ["sla"],
                    "sla": ["breach"],
                },
                audience=of_ticket(ticket_id),
            )
        )
    values[TicketSla.scan_at] = next_scan(action_points(ticket, fresh, hours), done)
    values[TicketSla.paused] = state.paused
    values[TicketSla.updated_at] = as_of
    if created:
        await _INSERT_SLA.run(
            {
                "ticket": ticket_id,
                "targets": sla["targets"],
                "paused_statuses": sla["paused_statuses"],
                **{column._meta.name: value for column, value in values.items()},
            }
        )
    else:
        await TicketSla.update(values).where(TicketSla.ticket == ticket_id)
    dues = [d for d in open_dues.values() if d is not None]
    due_at = min(dues) if dues else None
    if due_at != ticket["due_at"]:
        await _SET_DUE.run(due_at, ticket_id)


async def _record_late_answers(ticket_id: int, state: SlaState, done: set[tuple[str, str]]) -> bool:
    """A target met after its due that the scan had not yet flagged (met within the same 15 s) still
    gets its breach on the timeline, once: the same SlaAction key as the scan's. True if it did."""
    recorded = False
    late = [
        (name, t.due, t.met_at)
        for name, t in state.targets.items()
        if t.met_at is not None and t.due is not None and t.met_at > t.due
    ]
    late += [
        ("next_response", due, met)
        for _at, due, met in state.next_response_rounds
        if met is not None and due is not None and met > due
    ]
    for name, due, met in late:
        key = (f"breach:{name}", due_key(due))
        if key in done:
            continue
        done.add(key)
        won = (
            await SlaAction.insert(SlaAction(ticket=ticket_id, rule=key[0], due_key=key[1], created_at=met))
            .on_conflict(action="DO NOTHING")
            .returning(SlaAction.id)
        )
        if won:
            recorded = True
            await TicketActivity.insert(
                TicketActivity(
                    ticket=ticket_id,
                    kind="sla",
                    created_at=met,
                    changes={"sla": "breach", "target": name, "due": key[1], "to": []},
                )
            )
    return recorded


async def ticket_sla_view(ticket: dict, now: datetime) -> dict | None:
    """What the ticket page's "Service level" card shows: per target its due, met/breached, time left."""
    sla = await load_sla(ticket["id"])
    if sla is None or not sla["targets"]:
        return None
    hours = await hours_for(ticket["campus"])
    state = state_of(ticket, sla, hours, await history(ticket["id"]))
    rows = []
    for name in TARGETS:
        target = state.targets[name]
        if target.minutes is None:
            continue
        breached = target.breached_at(now) or sla.get(BREACH_COLUMNS[name])
        if target.met_at is not None:
            phase = "breached" if target.breached_at(now) else "met"
        elif target.started_at is None or (name == "next_response" and not state.next_response_rounds):
            phase = "idle"
        elif target.due is None:
            phase = "stopped"
        else:
            phase = "overdue" if target.due <= now else "running"
        rows.append(
            {
                "name": name,
                "minutes": target.minutes,
                "due": target.due,
                "met_at": target.met_at,
                "phase": phase,
                "breached_at": breached,
                "left": (target.due - now) if target.due is not None else None,
                "remaining_minutes": target.remaining_minutes,
            }
        )
    return {
        "rows": rows,
        "paused": state.paused,
        "priority": state.priority,
        "version": (sla["targets"].get(state.priority) or {}).get("version"),
    }


async def api_summary(ticket_id: int) -> dict:
    """The SLA fields of GET /api/v1/tickets/{id}: open dues (null when met, paused or without target)
    and whether any target of the ticket has been missed."""
    row = (
        await TicketSla.select(
            TicketSla.first_response_due,
            TicketSla.resolution_due,
            *(getattr(TicketSla, c) for c in BREACH_COLUMNS.values()),
        )
        .where(TicketSla.ticket == ticket_id)
        .first()
    )
    if row is None:
        return {"first_response_due": None, "resolution_due": None, "sla_breached": False}
    return {
        "first_response_due": row["first_response_due"],
        "resolution_due": row["resolution_due"],
        "sla_breached": any(row[c] is not None for c in BREACH_COLUMNS.values()),
    }
