"""Calendar services on the real database: defaults, validation, special days, audit, the cache."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.calendars import defaults, services
from app.calendars.hours import ALWAYS_OPEN, add_business_minutes, is_open
from app.core.clock import FrozenClock
from app.core.errors import Conflict, Forbidden, ValidationFailed
from tables.audit.tables import AuditEntry
from tables.calendars.tables import BusinessCalendar, CalendarDay
from tests.support import make_campus, make_user

SH = ZoneInfo("Asia/Shanghai")
CLOCK = FrozenClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


def weekly(*days) -> list:
    return list(days) + [[]] * (7 - len(days))


def form(**overrides) -> dict:
    values = {
        "name": "校区时间",
        "timezone": "Asia/Shanghai",
        "campus": "",
        "weekly": weekly(*[[["09:00", "12:00"], ["13:00", "18:00"]]] * 5),
    }
    values.update(overrides)
    return values


async def test_default_calendar_is_seeded_once_with_saturdays_and_holidays():
    assert await defaults.ensure_default_calendar() is True
    assert await defaults.ensure_default_calendar() is False
    rows = await BusinessCalendar.select().output(load_json=True)
    assert len(rows) == 1 and rows[0]["campus"] is None and rows[0]["name"] == "服务时间"
    assert rows[0]["weekly"][5] == [[510, 720], [780, 1230]] and rows[0]["weekly"][6] == []
    hours = await services.hours_for_campus(None)
    assert not is_open(hours, datetime(2026, 10, 2, 10, 0, tzinfo=SH))  # 国庆
    assert is_open(hours, datetime(2026, 9, 20, 10, 0, tzinfo=SH))  # 调休 Sunday
    assert is_open(hours, datetime(2026, 12, 5, 19, 0, tzinfo=SH))  # an ordinary Saturday evening
    assert not is_open(hours, datetime(2026, 12, 6, 10, 0, tzinfo=SH))  # an ordinary Sunday
    # Wednesday 2026-09-30 20:00 + 1 h: 30 min that day, then the holiday week, then 10-08 08:30 + 30 min.
    due = add_business_minutes(hours, datetime(2026, 9, 30, 20, 0, tzinfo=SH), 60)
    assert due.astimezone(SH) == datetime(2026, 10, 8, 9, 0, tzinfo=SH)


async def test_hours_fall_back_from_campus_to_default_to_always_open():
    admin = await make_user("admin")
    campus, other = await make_campus(), await make_campus()
    assert await services.hours_for_campus(campus) is ALWAYS_OPEN
    await services.save_calendar(admin, form(name="默认"), clock=CLOCK)
    default = await services.hours_for_campus(other)
    assert default.weekly[5] == ()
    await services.save_calendar(
        admin, form(name="东校区", campus=str(campus), weekly=weekly(*[[["08:00", "20:00"]]] * 7)), clock=CLOCK
    )
    assert (await services.hours_for_campus(campus)).weekly[6] == ((480, 1200),)
    assert (await services.hours_for_campus(other)).weekly[5] == ()


async def test_cache_sees_changes_made_behind_its_back():
    """Another process's save bumps the version in the database; the next lookup reloads."""
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    first = await services.hours_for_campus(None)
    assert await services.hours_for_campus(None) is first  # cached
    await BusinessCalendar.update(
        {BusinessCalendar.weekly: weekly(*[[[0, 1440]]] * 7), BusinessCalendar.version: 2}
    ).where(BusinessCalendar.id == calendar_id)
    assert (await services.hours_for_campus(None)).weekly[6] == ((0, 1440),)


async def test_save_validates_every_rule_and_saves_nothing():
    admin = await make_user("admin")
    bad = form(
        name="",
        timezone="Mars/Base",
        campus="999",
        weekly=[
            [["09:00", "08:00"]],  # end before start
            [["09:00", "12:00"], ["11:00", "13:00"]],  # overlap
            [["09:00", "25:00"]],  # past 24:00
            [["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"], ["9", "10"]],  # five (and malformed)
            [["08:00", "09:00"], ["10:00", "11:00"], ["12:00", "13:00"], ["14:00", "15:00"], ["16:00", "17:00"]],
            [["9:5", "10:00"]],
            [],
        ],
    )
    with pytest.raises(ValidationFailed) as failed:
        await services.save_calendar(admin, bad, clock=CLOCK)
    fields = failed.value.by_field()
    assert set(fields) == {
        "name",
        "timezone",
        "campus",
        "weekly.0",
        "weekly.1",
        "weekly.2",
        "weekly.3",
        "weekly.4",
        "weekly.5",
    }
    assert fields["weekly.1"] == "Shifts must not overlap."
    assert fields["weekly.4"] == "At most 4 shifts a day."
    assert await BusinessCalendar.count() == 0
    assert await AuditEntry.count().where(AuditEntry.entity_type == services.ENTITY) == 0


async def test_midnight_shift_and_only_one_default_or_one_per_campus():
    admin = await make_user("admin")
    await services.save_calendar(admin, form(weekly=weekly([["20:00", "24:00"]])), clock=CLOCK)
    assert (await services.hours_for_campus(None)).weekly[0] == ((1200, 1440),)
    with pytest.raises(ValidationFailed) as failed:
        await services.save_calendar(admin, form(name="第二个默认"), clock=CLOCK)
    assert "campus" in failed.value.by_field()
    campus = await make_campus()
    await services.save_calendar(admin, form(campus=str(campus)), clock=CLOCK)
    with pytest.raises(ValidationFailed):
        await services.save_calendar(admin, form(campus=str(campus)), clock=CLOCK)
    # And the database itself refuses a second default, whatever the service checks.
    # sqlite3.IntegrityError or asyncpg's UniqueViolationError, depending on the database.
    with pytest.raises(Exception):  # noqa: B017
        await BusinessCalendar.insert(BusinessCalendar(name="x", timezone="UTC", weekly=weekly(), campus=None))


async def test_update_is_audited_and_stale_versions_conflict():
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    await services.save_calendar(admin, form(name="新名字", version="1"), calendar_id, clock=CLOCK)
    with pytest.raises(Conflict):
        await services.save_calendar(admin, form(name="旧页面", version="1"), calendar_id, clock=CLOCK)
    row = await BusinessCalendar.select().where(BusinessCalendar.id == calendar_id).first()
    assert row["name"] == "新名字" and row["version"] == 2
    entries = (
        await AuditEntry.select()
        .where((AuditEntry.entity_id == calendar_id) & (AuditEntry.entity_type == services.ENTITY))
        .order_by(AuditEntry.id)
        .output(load_json=True)
    )
    assert [e["action"] for e in entries] == ["create", "update"]
    assert entries[1]["changes"] == {"name": ["校区时间", "新名字"]} and entries[1]["actor"] == admin.id


async def test_only_admins_write():
    supervisor = await make_user("supervisor")
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    with pytest.raises(Forbidden):
        await services.save_calendar(supervisor, form(), clock=CLOCK)
    with pytest.raises(Forbidden):
        await services.add_special_days(supervisor, calendar_id, {"start": "2026-10-01", "kind": "holiday"})
    assert await CalendarDay.count() == 0


async def test_range_of_holidays_replaces_existing_days_and_is_audited():
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    await services.add_special_days(
        admin, calendar_id, {"start": "2026-10-03", "kind": "workday", "shifts": [["09:00", "12:00"]]}, clock=CLOCK
    )
    written = await services.add_special_days(
        admin, calendar_id, {"start": "2026-10-01", "end": "2026-10-07", "kind": "holiday", "note": "国庆"}, clock=CLOCK
    )
    assert written == 7
    days = await CalendarDay.select().where(CalendarDay.calendar == calendar_id).order_by(CalendarDay.day)
    assert [d["day"] for d in days] == [date(2026, 10, d) for d in range(1, 8)]
    assert {d["kind"] for d in days} == {"holiday"}
    hours = await services.hours_for_campus(None)
    assert not is_open(hours, datetime(2026, 10, 5, 10, 0, tzinfo=SH))
    entry = await AuditEntry.select().order_by(AuditEntry.id, ascending=False).output(load_json=True).first()
    assert entry["changes"]["2026-10-03"] == ["workday 09:00–12:00", "holiday 国庆"]
    assert entry["changes"]["2026-10-01"] == [None, "holiday 国庆"]
    # Removing one date reopens it, bumps the version and the cache follows.
    await services.remove_special_day(admin, calendar_id, days[4]["id"], clock=CLOCK)  # 10-05, a Monday
    assert is_open(await services.hours_for_campus(None), datetime(2026, 10, 5, 10, 0, tzinfo=SH))
    assert (await BusinessCalendar.select(BusinessCalendar.version).first())["version"] == 4


async def test_special_day_validation():
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    cases = [
        ({"start": "2026-13-01", "kind": "holiday"}, "start"),
        ({"start": "2026-10-07", "end": "2026-10-01", "kind": "holiday"}, "end"),
        ({"start": "2026-01-01", "end": "2026-12-31", "kind": "holiday"}, "end"),
        ({"start": "2026-10-01", "kind": "party"}, "kind"),
        ({"start": "2026-10-10", "kind": "workday", "shifts": [["13:00", "12:00"]]}, "shifts"),
    ]
    for values, field in cases:
        with pytest.raises(ValidationFailed) as failed:
            await services.add_special_days(admin, calendar_id, values, clock=CLOCK)
        assert field in failed.value.by_field(), values
    assert await CalendarDay.count() == 0


async def test_workday_without_hours_uses_the_longest_weekday():
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    await services.add_special_days(admin, calendar_id, {"start": "2026-09-20", "kind": "workday"}, clock=CLOCK)
    day = await CalendarDay.select().output(load_json=True).first()
    assert day["shifts"] == [[540, 720], [780, 1080]]


async def test_preview_due_for_the_check_widget():
    admin = await make_user("admin")
    calendar_id = await services.save_calendar(admin, form(), clock=CLOCK)
    result = await services.preview_due(calendar_id, "2026-11-27T17:00", "2")  # Friday
    assert result["due"] == datetime(2026, 11, 30, 10, 0, tzinfo=SH) and result["weekday"] == "Monday"
    with pytest.raises(ValidationFailed) as failed:
        await services.preview_due(calendar_id, "yesterday", "-1")
    assert set(failed.value.by_field()) == {"at", "hours"}
