"""The worker's SLA scan: reminders, unclaimed escalation and breaches, each acted on exactly once.

One scan is one transaction over a batch of tickets found by one indexed column
(TicketSla.scan_at <= now). It locks their SLA rows, re-reads them fresh, derives the action
points, and inserts one SlaAction(ticket, rule, due_key) per point that has come, in bulk with
ON CONFLICT DO NOTHING: only the points whose row this transaction inserted are acted on. The unique
index, not a Redis lock, is what makes two workers (or a worker restarted mid-scan) act once; a scan
that fails rolls back its actions with it and the next scan does them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from app.calendars.hours import BusinessHours
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork, is_sqlite
from app.core.events import Event
from app.core.i18n import N_, gettext
from app.notifications.services import notify
from app.sla.services import BREACH_COLUMNS, Point, action_points, hours_for, next_scan
from app.tickets.audience import of_ticket
from tables.accounts.tables import Team, User
from tables.sla.tables import SlaAction, TicketSla
from tables.tickets.tables import TicketActivity

BATCH = 500
TARGET_NAMES = {
    "first_response": N_("First response"),
    "next_response": N_("Next response"),
    "resolution": N_("Resolution"),
}
# The SLA row with the ticket fields the points and the messages need, in one joined query.
COLUMNS = (
    TicketSla.ticket,
    TicketSla.targets,
    TicketSla.scan_at,
    TicketSla.first_response_due,
    TicketSla.next_response_due,
    TicketSla.resolution_due,
    *(getattr(TicketSla, c) for c in BREACH_COLUMNS.values()),
    TicketSla.ticket.number.as_alias("number"),
    TicketSla.ticket.title.as_alias("title"),
    TicketSla.ticket.status.as_alias("status"),
    TicketSla.ticket.priority.as_alias("priority"),
    TicketSla.ticket.assignee.as_alias("assignee"),
    TicketSla.ticket.team.as_alias("team"),
    TicketSla.ticket.campus.as_alias("campus"),
    TicketSla.ticket.created_at.as_alias("created_at"),
    TicketSla.ticket.deleted_at.as_alias("deleted_at"),
    TicketSla.ticket.version.as_alias("version"),
    TicketSla.ticket.ticket_type.code.as_alias("type_code"),
    TicketSla.ticket.assignee.team.as_alias("assignee_team"),
    TicketSla.ticket.campus.timezone.as_alias("campus_tz"),
)


async def scan(clock: Clock = system_clock, limit: int = BATCH) -> Counter:
    """One pass over the tickets whose next point has come; returns what was done, by rule kind."""
    now = clock.now()
    found = (
        await TicketSla.select(TicketSla.ticket)
        .where(TicketSla.scan_at <= now)
        .order_by(TicketSla.scan_at)
        .limit(limit)
    )
    ids = sorted(r["ticket"] for r in found)
    if not ids:
        return Counter()
    async with UnitOfWork() as uow:
        return await _act(uow, ids, now)


async def _lock(ids: list[int]) -> None:
    """Lock the SLA rows: a second worker on the same tickets waits here, then reads what the first
    one wrote and finds nothing left to do. In ticket order, so two scans over overlapping batches
    queue instead of deadlocking (each holding a row the other wants). SQLite runs one write
    transaction at a time (BEGIN IMMEDIATE), which serialises scans already."""
    if not is_sqlite():
        await (
            TicketSla.select(TicketSla.ticket).where(TicketSla.ticket.is_in(ids)).order_by(TicketSla.ticket).lock_rows()
        )


async def _act(uow: UnitOfWork, ids: list[int], now: datetime) -> Counter:
    await _lock(ids)
    rows = (
        await TicketSla.select(*COLUMNS)
        .where(TicketSla.ticket.is_in(ids) & (TicketSla.scan_at <= now))
        .output(load_json=True)
    )
    if not rows:
        return Counter()
    actions = await SlaAction.select(SlaAction.ticket, SlaAction.rule, SlaAction.due_key).where(
        SlaAction.ticket.is_in([r["ticket"] for r in rows])
    )
    handled: dict[int, set] = {}
    for a in actions:
        handled.setdefault(a["ticket"], set()).add((a["rule"], a["due_key"]))
    calendars: dict[int | None, BusinessHours] = {}
    plans: list[tuple[dict, list[Point], set]] = []
    for row in rows:
        if row["campus"] not in calendars:
            calendars[row["campus"]] = await hours_for(row["campus"])
        hours = calendars[row["campus"]]
        row["id"] = row["ticket"]
        row["tz"] = row["campus_tz"] or (hours.tz if hours.tz != "UTC" else "Asia/Shanghai")
        points = action_points(row, row, hours)
        done = handled.setdefault(row["ticket"], set())
        plans.append((row, points, done))
    due_now = [
        (row, p) for row, points, done in plans for p in points if p.at <= now and (p.rule, p.due_key) not in done
    ]
    won: set[tuple[int, str, str]] = set()
    if due_now:
        inserted = (
            await SlaAction.insert(
                *[SlaAction(ticket=row["ticket"], rule=p.rule, due_key=p.due_key, created_at=now) for row, p in due_now]
            )
            .on_conflict(action="DO NOTHING")
            .returning(SlaAction.ticket, SlaAction.rule, SlaAction.due_key)
        )
        won = {(r["ticket"], r["rule"], r["due_key"]) for r in inserted}
    for row, p in due_now:
        handled[row["ticket"]].add((p.rule, p.due_key))
    acted = await _Actions(uow, now).run([(row, p) for row, p in due_now if (row["ticket"], p.rule, p.due_key) in won])
    for row, points, done in plans:
        await TicketSla.update(
            {TicketSla.scan_at: next_scan(points, done), **acted.breach_stamps.get(row["ticket"], {})}
        ).where(TicketSla.ticket == row["ticket"])
    return acted.counts


class _Actions:
    """Acts on the points this scan won: messages, timeline entries, breach stamps, live events."""

    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self.uow, self.now = uow, now
        self.counts: Counter = Counter()
        self.breach_stamps: dict[int, dict] = {}
        self.entries: list[TicketActivity] = []
        self.changed: dict[int, dict] = {}
        self.kinds: dict[int, set[str]] = {}
        self._teams: dict[int, dict] | None = None
        self._active: set[int] | None = None
        self._supervisors: dict[int | None, list[int]] = {}

    async def run(self, won: list[tuple[dict, Point]]) -> _Actions:
        for row, point in won:
            kind = point.rule.split(":")[0]
            if kind == "remind":
                if point.due is not None and point.due > self.now and row["assignee"] is not None:
                    await self._remind(row, point)
                    self._happened(row, "remind")
                    self.counts["remind"] += 1
            elif kind == "escalate":
                await self._escalate_unclaimed(row)
                self._happened(row, "escalate")
                self._reassign(row, point, "unclaimed")
                self.counts["escalate"] += 1
            else:
                await self._breach(row, point)
                self._happened(row, "breach")
                self._reassign(row, point, "breach")
                self.counts["breach"] += 1
        if self.entries:
            await TicketActivity.insert(*self.entries)
        for row in self.changed.values():
            # The timeline changed: boards and open ticket pages refresh. fields ["sla"] tells the SLA
            # reaction that this write is the scan's own (its dues did not change); "sla" names what
            # happened, for automation rules on "near breach" and "breached".
            self.uow.emit(
                Event(
                    "ticket.updated",
                    {
                        "id": row["ticket"],
                        "status": row["status"],
                        "old_status": None,
                        "assignee": row["assignee"],
                        "campus": row["campus"],
                        "priority": row["priority"],
                        "type": row["type_code"],
                        "version": row["version"],
                        "old_assignee": row["assignee"],
                        "fields": ["sla"],
                        "sla": sorted(self.kinds.get(row["ticket"], ())),
                    },
                    audience=of_ticket(row["ticket"]),
                )
            )
        return self

    async def _remind(self, row: dict, point: Point) -> None:
        body = gettext(
            "%(target)s due at %(time)s.", target=gettext(TARGET_NAMES[point.target]), time=_local(point.due, row["tz"])
        )
        await notify(
            self.uow,
            [row["assignee"]],
            kind="sla_reminder",
            title=f"{row['number']} {row['title']}",
            body=body,
            link=f"/tickets/{row['ticket']}",
        )

    async def _escalate_unclaimed(self, row: dict) -> None:
        """To the leader of the ticket's team; the campus supervisors when the team has no leader."""
        recipients = (await self._chain(row["team"]))[:1] or await self._campus_supervisors(row["campus"])
        self._entry(row, {"sla": "escalate_unclaimed", "to": recipients})
        await notify(
            self.uow,
            recipients,
            kind="ticket_escalated",
            title=f"{row['number']} {row['title']}",
            body=gettext("Nobody has taken this ticket yet."),
            link=f"/tickets/{row['ticket']}",
        )

    async def _breach(self, row: dict, point: Point) -> None:
        """On the timeline, stamped on the SLA row, and to the supervisor up the chain of the assignee's
        team (the ticket's team when unassigned); the campus supervisors when that chain has nobody."""
        team = row["assignee_team"] if row["assignee"] is not None else row["team"]
        chain = [u for u in await self._chain(team) if u != row["assignee"]]
        recipients = chain[:1] or [u for u in await self._campus_supervisors(row["campus"]) if u != row["assignee"]]
        self._entry(row, {"sla": "breach", "target": point.target, "due": point.due_key, "to": recipients})
        column = BREACH_COLUMNS[point.target]
        if row.get(column) is None:
            self.breach_stamps.setdefault(row["ticket"], {})[getattr(TicketSla, column)] = point.due
        body = gettext(
            "%(target)s target missed (was due %(time)s).",
            target=gettext(TARGET_NAMES[point.target]),
            time=_local(point.due, row["tz"]),
        )
        await notify(
            self.uow,
            recipients,
            kind="sla_breach",
            title=f"{row['number']} {row['title']}",
            body=body,
            link=f"/tickets/{row['ticket']}",
        )

    def _happened(self, row: dict, kind: str) -> None:
        self.kinds.setdefault(row["ticket"], set()).add(kind)
        self.changed[row["ticket"]] = row

    def _reassign(self, row: dict, point: Point, reason: str) -> None:
        """Escalated tickets go back to auto-assignment, to someone else who fits (after commit, once:
        the job id is the action's own), unless someone or a rule has reassigned them meanwhile."""
        self.uow.enqueue(
            "reassign_ticket",
            row["ticket"],
            reason,
            row["assignee"],
            job_id=f"reassign:{row['ticket']}:{point.rule}:{point.due_key}",
        )

    def _entry(self, row: dict, changes: dict) -> None:
        self.entries.append(TicketActivity(ticket=row["ticket"], kind="sla", changes=changes, created_at=self.now))
        self.changed[row["ticket"]] = row

    async def _chain(self, team_id: int | None) -> list[int]:
        """Active leaders of the team and of every team above it, nearest first."""
        if self._teams is None:
            self._teams = {t["id"]: t for t in await Team.select(Team.id, Team.parent, Team.leader)}
            leaders = sorted({t["leader"] for t in self._teams.values() if t["leader"] is not None})
            rows = await User.select(User.id).where(User.id.is_in(leaders) & User.is_active.eq(True)) if leaders else []
            self._active = {r["id"] for r in rows}
        return [u for u in leader_chain(self._teams, team_id) if u in self._active]

    async def _campus_supervisors(self, campus_id: int | None) -> list[int]:
        if campus_id not in self._supervisors:
            from app.tickets.intake.csat import supervisors_for

            self._supervisors[campus_id] = await supervisors_for(campus_id)
        return self._supervisors[campus_id]


def leader_chain(teams: dict[int, dict], team_id: int | None) -> list[int]:
    """Leaders of the team and of every team above it, nearest first (a cycle in bad data is cut)."""
    chain, seen = [], set()
    while team_id is not None and team_id in teams and team_id not in seen:
        seen.add(team_id)
        leader = teams[team_id]["leader"]
        if leader is not None and leader not in chain:
            chain.append(leader)
        team_id = teams[team_id]["parent"]
    return chain


def _local(moment: datetime, tz: str) -> str:
    """Times in messages are the campus's wall-clock time."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
