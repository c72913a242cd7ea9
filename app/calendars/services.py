"""Business calendars: the hours a campus (or the whole school) counts for due times.

Reading: `hours_for_campus()` (cached per process). Writing (admins only, audited): save a
calendar's weekly hours, time zone and campus; add or remove special days (holidays, 调休 make-up
days), one date or a range. Every change bumps the calendar's `version`, which is also how other
processes notice that their cached hours are stale.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.accounts.staff import require_admin
from app.calendars.hours import ALWAYS_OPEN, BusinessHours, add_business_minutes
from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.core.prepared import Prepared
from tables.accounts.tables import Campus
from tables.calendars.tables import BusinessCalendar, CalendarDay

MAX_SHIFTS = 4
MAX_RANGE_DAYS = 62
KINDS = {"holiday": N_("Holiday (closed)"), "workday": N_("Working day (调休 / special hours)")}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))
ENTITY = "business_calendar"
CALENDAR_FIELDS = ("name", "timezone", "campus", "weekly")

# -- reading, cached -------------------------------------------------------------------------

_cache: dict[int | None, BusinessHours] = {}
_cache_stamp: tuple | None = None


def invalidate_cache() -> None:
    global _cache_stamp
    _cache.clear()
    _cache_stamp = None


# Run on every ticket write (the SLA reaction): compiled once (app/core/prepared.py).
_STAMP = Prepared(
    lambda: BusinessCalendar.select(BusinessCalendar.id, BusinessCalendar.version, BusinessCalendar.created_at), 0
)


async def _stamp() -> tuple:
    """Changes whenever any calendar is created, edited (versions only go up) or deleted; created_at
    is the database's own time, so a calendar re-created after a wipe does not look unchanged."""
    rows = await _STAMP.run()
    return tuple(sorted((r["id"], r["version"], r["created_at"].isoformat()) for r in rows))


async def hours_for_campus(campus_id: int | None) -> BusinessHours:
    """The campus's calendar, else the school default, else ALWAYS_OPEN.

    Cached in-process: one tiny query (ids and versions of the few calendars) tells whether any
    calendar changed, in this process or another; only then are the calendars reloaded. The
    BusinessHours objects, with their per-date caches, are kept between calls."""
    global _cache_stamp
    stamp = await _stamp()
    if stamp != _cache_stamp:
        _cache.clear()
        _cache_stamp = stamp
    if campus_id not in _cache:
        _cache[campus_id] = await _load_hours(campus_id)
    return _cache[campus_id]


async def _load_hours(campus_id: int | None) -> BusinessHours:
    row = None
    if campus_id is not None:
        row = await BusinessCalendar.select().where(BusinessCalendar.campus == campus_id).first()
    if row is None:
        row = await BusinessCalendar.select().where(BusinessCalendar.campus.is_null()).first()
    if row is None:
        return ALWAYS_OPEN
    return await hours_for_calendar(row)


async def hours_for_calendar(row: dict) -> BusinessHours:
    """BusinessHours of one calendar row (as selected), with its special days."""
    days = (
        await CalendarDay.select(CalendarDay.day, CalendarDay.kind, CalendarDay.shifts)
        .where(CalendarDay.calendar == row["id"])
        .output(load_json=True)
    )
    weekly = json.loads(row["weekly"]) if isinstance(row["weekly"], str) else row["weekly"]
    return BusinessHours(
        tz=row["timezone"],
        weekly=tuple(tuple(tuple(s) for s in day) for day in weekly),
        holidays=frozenset(d["day"] for d in days if d["kind"] == "holiday"),
        workdays={d["day"]: tuple(tuple(s) for s in d["shifts"]) for d in days if d["kind"] == "workday"},
    )


async def list_calendars() -> list[dict]:
    rows = (
        await BusinessCalendar.select(
            BusinessCalendar.id,
            BusinessCalendar.name,
            BusinessCalendar.timezone,
            BusinessCalendar.campus,
            BusinessCalendar.campus.name.as_alias("campus_name"),
            BusinessCalendar.weekly,
            BusinessCalendar.updated_at,
        )
        .order_by(BusinessCalendar.id)
        .output(load_json=True)
    )
    counts: dict[int, int] = {}
    for d in await CalendarDay.select(CalendarDay.calendar):
        counts[d["calendar"]] = counts.get(d["calendar"], 0) + 1
    for row in rows:
        row["special_days"] = counts.get(row["id"], 0)
        row["weekly_text"] = [format_shifts(day) for day in row["weekly"]]
    rows.sort(key=lambda r: (r["campus"] is not None, r["campus_name"] or ""))
    return rows


async def get_calendar(calendar_id: int) -> dict:
    row = (
        await BusinessCalendar.select(
            *BusinessCalendar.all_columns(), BusinessCalendar.campus.name.as_alias("campus_name")
        )
        .where(BusinessCalendar.id == calendar_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound(N_("No such calendar."))
    row["days"] = (
        await CalendarDay.select()
        .where(CalendarDay.calendar == calendar_id)
        .order_by(CalendarDay.day)
        .output(load_json=True)
    )
    return row


# -- parsing and validation -------------------------------------------------------------------


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_shifts(shifts) -> str:
    return ", ".join(f"{format_minute(s)}–{format_minute(e)}" for s, e in shifts)


def parse_minute(value) -> int | None:
    """'08:30' → 510, '24:00' → 1440; an int is taken as minutes; None when malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 1440 else None
    text = str(value).strip()
    hours, sep, minutes = text.partition(":")
    # isdecimal, not isdigit: '²' is a digit that int() refuses
    if not sep or not hours.isdecimal() or not minutes.isdecimal() or len(minutes) != 2 or len(hours) > 2:
        return None
    total = int(hours) * 60 + int(minutes)
    return total if int(minutes) < 60 and total <= 1440 else None


def clean_shifts(raw, field: str) -> tuple[list[list[int]], list[FieldError]]:
    """Shifts as [[start, end], ...] minutes; errors name `field`."""
    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        return [], [FieldError(field, N_("Shifts must be a list of [start, end] pairs."))]
    shifts = []
    for pair in raw:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return [], [FieldError(field, N_("Shifts must be a list of [start, end] pairs."))]
        start, end = parse_minute(pair[0]), parse_minute(pair[1])
        if start is None or end is None:
            return [], [FieldError(field, N_("Times must be between 00:00 and 24:00, like 08:30."))]
        if start >= end:
            return [], [FieldError(field, N_("A shift must end after it starts."))]
        shifts.append([start, end])
    if len(shifts) > MAX_SHIFTS:
        return [], [FieldError(field, N_("At most 4 shifts a day."))]
    shifts.sort()
    for before, after in zip(shifts, shifts[1:]):
        if after[0] < before[1]:
            return [], [FieldError(field, N_("Shifts must not overlap."))]
    return shifts, []


async def _clean_calendar(values: dict, calendar_id: int | None) -> dict:
    errors: list[FieldError] = []
    data = {"name": str(values.get("name", "")).strip(), "timezone": str(values.get("timezone") or "").strip()}
    if not data["name"] or len(data["name"]) > 100:
        errors.append(FieldError("name", N_("Enter a name of at most 100 characters.")))
    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FieldError("timezone", N_("Unknown time zone, e.g. Asia/Shanghai.")))
    campus = values.get("campus")
    if campus in (None, ""):
        data["campus"] = None
    elif (campus_id := parse_int(campus)) is None or not await Campus.exists().where(Campus.id == campus_id):
        errors.append(FieldError("campus", N_("Unknown campus.")))
    else:
        data["campus"] = campus_id
    if "campus" in data and await BusinessCalendar.exists().where(
        (BusinessCalendar.campus.is_null() if data["campus"] is None else BusinessCalendar.campus == data["campus"])
        & (BusinessCalendar.id != (calendar_id or 0))
    ):
        message = (
            N_("The school already has a default calendar.")
            if data["campus"] is None
            else N_("This campus already has a calendar.")
        )
        errors.append(FieldError("campus", message))
    weekly = values.get("weekly")
    if not isinstance(weekly, (list, tuple)) or len(weekly) != 7:
        errors.append(FieldError("weekly", N_("Give the hours of all seven weekdays, Monday first.")))
    else:
        data["weekly"] = []
        for index, day in enumerate(weekly):
            shifts, problems = clean_shifts(day, f"weekly.{index}")
            errors.extend(problems)
            data["weekly"].append(shifts)
    if errors:
        raise ValidationFailed(errors)
    return data


# -- writing ----------------------------------------------------------------------------------


def _bump(calendar_id: int, clock: Clock):
    return BusinessCalendar.update(
        {BusinessCalendar.version: BusinessCalendar.version + 1, BusinessCalendar.updated_at: clock.now()}
    ).where(BusinessCalendar.id == calendar_id)


def drop_cache_after_commit(uow: UnitOfWork) -> None:
    async def drop() -> None:
        invalidate_cache()

    uow.after_commit(drop)


async def save_calendar(
    actor: CurrentUser, values: dict, calendar_id: int | None = None, *, clock: Clock = system_clock
) -> int:
    """Create or update a calendar. `values`: name, timezone, campus (id or empty for the school
    default), weekly (7 lists of [start, end] as 'HH:MM' or minutes), version (optional; a stale
    version answers 409)."""
    require_admin(actor)
    before: dict = {}
    if calendar_id is not None:
        before = (
            await BusinessCalendar.select().where(BusinessCalendar.id == calendar_id).output(load_json=True).first()
        )
        if before is None:
            raise NotFound(N_("No such calendar."))
        version = values.get("version")
        if version not in (None, "") and str(version) != str(before["version"]):
            raise Conflict(N_("Someone else changed this calendar meanwhile. Reload and try again."))
    data = await _clean_calendar(values, calendar_id)
    async with UnitOfWork() as uow:
        if calendar_id is None:
            calendar_id = (
                await BusinessCalendar.insert(BusinessCalendar(**data, updated_at=clock.now())).returning(
                    BusinessCalendar.id
                )
            )[0]["id"]
            changes, action = audit.snapshot(data, CALENDAR_FIELDS), "create"
        else:
            changed = (
                await BusinessCalendar.update(
                    {
                        **{getattr(BusinessCalendar, k): v for k, v in data.items()},
                        BusinessCalendar.version: BusinessCalendar.version + 1,
                        BusinessCalendar.updated_at: clock.now(),
                    }
                )
                .where((BusinessCalendar.id == calendar_id) & (BusinessCalendar.version == before["version"]))
                .returning(BusinessCalendar.id)
            )
            if not changed:
                raise Conflict(N_("Someone else changed this calendar meanwhile. Reload and try again."))
            changes, action = audit.diff(before, data, CALENDAR_FIELDS), "update"
        if changes:
            await audit.record(
                actor_id=actor.id, action=action, entity_type=ENTITY, entity_id=calendar_id, changes=changes
            )
        drop_cache_after_commit(uow)
    return calendar_id


def _parse_date(value, field: str, errors: list[FieldError]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors.append(FieldError(field, N_("Enter a date like 2026-10-01.")))
        return None


def _describe(kind: str, shifts, note: str) -> str:
    text = kind if kind == "holiday" else f"workday {format_shifts(shifts)}"
    return f"{text} {note}".strip()


async def add_special_days(actor: CurrentUser, calendar_id: int, values: dict, *, clock: Clock = system_clock) -> int:
    """Mark a date, or every date of a range (`start`…`end`, inclusive), as a holiday or a working
    day with the given shifts; a working day without shifts gets the calendar's longest weekday
    (a 调休 Sunday works like a normal day). Existing entries on those dates are replaced.
    Returns the number of dates written."""
    require_admin(actor)
    calendar = await BusinessCalendar.select().where(BusinessCalendar.id == calendar_id).output(load_json=True).first()
    if calendar is None:
        raise NotFound(N_("No such calendar."))
    errors: list[FieldError] = []
    first = _parse_date(values.get("start"), "start", errors)
    last = first if values.get("end") in (None, "") else _parse_date(values.get("end"), "end", errors)
    kind = str(values.get("kind") or "")
    if kind not in KINDS:
        errors.append(FieldError("kind", N_("Choose holiday or working day.")))
    note = str(values.get("note") or "").strip()
    if len(note) > 100:
        errors.append(FieldError("note", N_("At most 100 characters.")))
    shifts: list[list[int]] = []
    if kind == "workday":
        shifts, problems = clean_shifts(values.get("shifts"), "shifts")
        errors.extend(problems)
        if not problems and not shifts:
            shifts = max(calendar["weekly"], key=lambda day: sum(e - s for s, e in day)) or []
            if not shifts:
                errors.append(FieldError("shifts", N_("Give the hours of this working day.")))
    if first and last:
        if last < first:
            errors.append(FieldError("end", N_("The range must end on or after its first day.")))
        elif (last - first).days >= MAX_RANGE_DAYS:
            errors.append(FieldError("end", N_("A range may span at most 62 days.")))
    if errors:
        raise ValidationFailed(errors)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    existing = {
        r["day"]: r
        for r in await CalendarDay.select()
        .where((CalendarDay.calendar == calendar_id) & CalendarDay.day.is_in(days))
        .output(load_json=True)
    }
    changes = {}
    async with UnitOfWork() as uow:
        for day in days:
            old = existing.get(day)
            if old:
                await CalendarDay.delete().where(CalendarDay.id == old["id"])
            await CalendarDay.insert(CalendarDay(calendar=calendar_id, day=day, kind=kind, shifts=shifts, note=note))
            changes[day.isoformat()] = [
                _describe(old["kind"], old["shifts"], old["note"]) if old else None,
                _describe(kind, shifts, note),
            ]
        await _bump(calendar_id, clock)
        await audit.record(
            actor_id=actor.id, action="update", entity_type=ENTITY, entity_id=calendar_id, changes=changes
        )
        drop_cache_after_commit(uow)
    return len(days)


async def remove_special_day(actor: CurrentUser, calendar_id: int, day_id: int, *, clock: Clock = system_clock) -> None:
    require_admin(actor)
    row = (
        await CalendarDay.select()
        .where((CalendarDay.id == day_id) & (CalendarDay.calendar == calendar_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound(N_("No such special day."))
    async with UnitOfWork() as uow:
        await CalendarDay.delete().where(CalendarDay.id == day_id)
        await _bump(calendar_id, clock)
        await audit.record(
            actor_id=actor.id,
            action="update",
            entity_type=ENTITY,
            entity_id=calendar_id,
            changes={row["day"].isoformat(): [_describe(row["kind"], row["shifts"], row["note"]), None]},
        )
        drop_cache_after_commit(uow)


async def preview_due(calendar_id: int, start_local: str, hours_text: str) -> dict:
    """The 'check' widget: `start_local` (wall clock in the calendar's zone, 'YYYY-MM-DDTHH:MM')
    plus `hours_text` business hours → the due time, in the calendar's zone."""
    calendar = await get_calendar(calendar_id)
    errors = []
    try:
        start = datetime.fromisoformat(str(start_local).strip())
    except ValueError:
        start = None
        errors.append(FieldError("at", N_("Enter a date and time like 2026-10-01T09:00.")))
    try:
        amount = float(str(hours_text).strip())
        if not 0 <= amount <= 10_000:
            raise ValueError
    except ValueError:
        errors.append(FieldError("hours", N_("Enter a number of hours between 0 and 10000.")))
    if errors:
        raise ValidationFailed(errors)
    zone = ZoneInfo(calendar["timezone"])
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    hours = await hours_for_calendar(calendar)
    due = add_business_minutes(hours, start, amount * 60)
    due = due.astimezone(zone)
    return {"start": start.astimezone(zone), "due": due, "hours": amount, "weekday": WEEKDAYS[due.weekday()]}
