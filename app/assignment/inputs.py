"""What an assignment decision reads: type settings, the ticket's needs, who is skilled, on shift
and online, and everyone's weighted load. No writes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.query.functions.aggregate import Count

from app.assignment import presence, rules
from app.assignment.rules import Candidate, Needs
from app.core.clock import Clock
from app.core.db import engine
from app.tickets.workflow import OPEN_STATUSES
from tables.assignment.tables import AssignmentSetting, StaffShift, StaffSkill
from tables.tickets.tables import Ticket

DEFAULT_KINDS = ("type",)
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.assignee,
    Ticket.campus,
    Ticket.team,
    Ticket.version,
    Ticket.fields,
    Ticket.deleted_at,
    Ticket.ticket_type,
    Ticket.ticket_type.code.as_alias("type_code"),
    Ticket.ticket_type.name.as_alias("type_name"),
    Ticket.ticket_type.team.as_alias("type_team"),
    Ticket.class_group.course.subject.as_alias("subject"),
    Ticket.student.class_teacher.as_alias("class_teacher"),
    Ticket.student.advisor.as_alias("advisor"),
    Ticket.campus.name.as_alias("campus_name"),
)


def reading():
    """The reads of one decision on one connection: on SQLite each query outside a transaction
    opens its own connection (and thread), which costs more than the queries themselves."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.deferred)
    return contextlib.nullcontext()


@dataclass(frozen=True)
class Setting:
    mode: str
    skill_kinds: tuple[str, ...]
    team: int | None


# -- reading ------------------------------------------------------------------------------------


async def setting_for(type_id: int, type_team: int | None = None) -> Setting:
    """A type without a saved setting is automatic, by the 'type' skill, queued to the type's team."""
    row = (
        await AssignmentSetting.select().where(AssignmentSetting.ticket_type == type_id).first().output(load_json=True)
    )
    if row is None:
        return Setting("auto", DEFAULT_KINDS, type_team)
    return Setting(row["mode"], tuple(k for k in row["skill_kinds"] or [] if k in rules.SKILL_KINDS), row["team"])


def needs_of(ticket: dict, kinds: tuple[str, ...]) -> Needs:
    """The values the ticket asks for, per required kind; a kind the ticket says nothing about
    (no class, no language given) does not narrow the choice."""
    fields = ticket.get("fields") or {}
    known: dict[str, frozenset[str]] = {}
    subjects = (
        {ticket.get("subject")} | set(_as_list(fields.get("course_interest"))) | set(_as_list(fields.get("subject")))
    )
    values = {
        "subject": {s for s in subjects if s},
        "type": {ticket["type_code"]},
        "language": {v for v in _as_list(fields.get("language")) if v},
        "campus": {str(ticket["campus"])} if ticket.get("campus") else set(),
    }
    for kind in kinds:
        if values.get(kind):
            known[kind] = frozenset(str(v) for v in values[kind])
    return Needs(known, ticket.get("class_teacher"), ticket.get("advisor"))


def _as_list(value) -> list:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


async def _staff_skills() -> dict[int, dict]:
    """Every active person with at least one skill: {user: {skills, campus, tz}} (one query)."""
    rows = await StaffSkill.select(
        StaffSkill.user,
        StaffSkill.kind,
        StaffSkill.value,
        StaffSkill.user.campus.as_alias("campus"),
        StaffSkill.user.campus.timezone.as_alias("tz"),
    ).where(StaffSkill.user.is_active.eq(True))
    people: dict[int, dict] = {}
    for r in rows:
        person = people.setdefault(r["user"], {"skills": set(), "campus": r["campus"], "tz": r["tz"]})
        person["skills"].add((r["kind"], r["value"]))
    return people


async def _shifts(people: dict[int, dict], now: datetime) -> tuple[set[int], dict[int, list[tuple[int, int, int]]]]:
    """Who has shifts of their own at all, and their shifts on the weekday it is now where they are."""
    if not people:
        return set(), {}
    ids = sorted(people)
    with_shifts = set(
        await StaffShift.select(StaffShift.user).where(StaffShift.user.is_in(ids)).distinct().output(as_list=True)
    )
    weekdays = sorted(
        {now.astimezone(_zone(p["tz"] or "Asia/Shanghai")).weekday() for u, p in people.items() if u in with_shifts}
    )
    shifts: dict[int, list[tuple[int, int, int]]] = {}
    if weekdays:
        rows = await StaffShift.select(
            StaffShift.user, StaffShift.weekday, StaffShift.start_minute, StaffShift.end_minute
        ).where(StaffShift.user.is_in(sorted(with_shifts)) & StaffShift.weekday.is_in(weekdays))
        for r in rows:
            shifts.setdefault(r["user"], []).append((r["weekday"], r["start_minute"], r["end_minute"]))
    return with_shifts, shifts


def in_own_shift(tz: str | None, shifts: list[tuple[int, int, int]], now: datetime) -> bool:
    """Inside one of a person's own weekly shifts, read in their campus's time zone."""
    local = now.astimezone(_zone(tz or "Asia/Shanghai"))
    minute = local.hour * 60 + local.minute
    return any(day == local.weekday() and start <= minute < end for day, start, end in shifts)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


async def on_shift_ids(people: dict[int, dict], now: datetime) -> set[int]:
    """Inside their own shifts if they have any, else inside their campus's business hours."""
    from app.calendars.hours import is_open

    with_shifts, shifts = await _shifts(people, now)
    campus_open: dict[int | None, bool] = {}
    result = set()
    for user_id, person in people.items():
        if user_id in with_shifts:
            if in_own_shift(person["tz"], shifts.get(user_id, []), now):
                result.add(user_id)
            continue
        if person["campus"] not in campus_open:
            from app.calendars.services import hours_for_campus  # cached per process by calendars

            campus_open[person["campus"]] = is_open(await hours_for_campus(person["campus"]), now)
        if campus_open[person["campus"]]:
            result.add(user_id)
    return result


async def candidates_for(needs: Needs, now: datetime, clock: Clock) -> list[Candidate]:
    """Everyone set up for assignment; shifts are looked at only for the skilled people online."""
    people = await _staff_skills()
    online = await presence.online_user_ids(clock)
    present = {u: p for u, p in people.items() if u in online and Candidate(u, frozenset(p["skills"])).matches(needs)}
    on_shift = await on_shift_ids(present, now) if present else set()
    return [Candidate(u, frozenset(p["skills"]), u in on_shift, u in online) for u, p in people.items()]


async def loads_of(user_ids: list[int]) -> dict[int, float]:
    """Open tickets per person, weighted by priority (urgent 4, high 2, normal 1, low 0.5)."""
    if not user_ids:
        return {}
    rows = (
        await Ticket.select(Ticket.assignee, Ticket.priority, Count(Ticket.id, alias="n"))
        .where(Ticket.assignee.is_in(user_ids) & Ticket.status.is_in(list(OPEN_STATUSES)) & Ticket.deleted_at.is_null())
        .group_by(Ticket.assignee, Ticket.priority)
    )
    loads: dict[int, float] = {}
    for r in rows:
        loads[r["assignee"]] = loads.get(r["assignee"], 0.0) + rules.LOAD_WEIGHTS.get(r["priority"], 1.0) * r["n"]
    return loads


async def settings_for(type_teams: dict[int, int | None]) -> dict[int, Setting]:
    """The setting of each ticket type in `type_teams` ({type id: the type's own team}), one query."""
    rows = (
        await AssignmentSetting.select()
        .where(AssignmentSetting.ticket_type.is_in(list(type_teams)))
        .output(load_json=True)
    )
    saved = {r["ticket_type"]: r for r in rows}
    return {
        t: Setting(
            saved[t]["mode"],
            tuple(k for k in saved[t]["skill_kinds"] or [] if k in rules.SKILL_KINDS),
            saved[t]["team"],
        )
        if t in saved
        else Setting("auto", DEFAULT_KINDS, team)
        for t, team in type_teams.items()
    }


def needs_key(needs: Needs) -> tuple:
    return tuple(sorted((kind, tuple(sorted(values))) for kind, values in needs.required.items()))


async def candidates_by_needs(all_needs: list[Needs], now: datetime, clock: Clock) -> dict[tuple, list[Candidate]]:
    """Candidates for several tickets at once (a burst): the staff, presence, shifts and campus
    hours are read once, for everyone online who fits any of the tickets."""
    people = await _staff_skills()
    online = await presence.online_user_ids(clock)
    keys = {needs_key(n): n for n in all_needs}
    fits = {
        key: {u for u, p in people.items() if u in online and Candidate(u, frozenset(p["skills"])).matches(n)}
        for key, n in keys.items()
    }
    present = set().union(*fits.values()) if fits else set()
    on_shift = await on_shift_ids({u: people[u] for u in present}, now) if present else set()
    return {
        key: [Candidate(u, frozenset(p["skills"]), u in on_shift, u in online) for u, p in people.items()]
        for key in keys
    }
