"""The school's default business calendar, seeded once at migrate time (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta

from app.calendars.services import CALENDAR_FIELDS, ENTITY, drop_cache_after_commit
from app.core import audit
from app.core.db import UnitOfWork
from tables.calendars.tables import BusinessCalendar, CalendarDay

DEFAULT_NAME = "服务时间"
DEFAULT_SHIFTS = [[510, 720], [780, 1230]]  # 08:30–12:00, 13:00–20:30
# Chinese public holidays and 调休 make-up working days. 2026 follows the State Council notice as
# published (Nov 2025); 2027 has only the fixed-date statutory days until its notice is out. The
# admin page asks the admin to check these against the notice.
DEFAULT_HOLIDAYS: dict[str, tuple[str, str]] = {
    "元旦": ("2026-01-01", "2026-01-03"),
    "春节": ("2026-02-15", "2026-02-23"),
    "清明节": ("2026-04-04", "2026-04-06"),
    "劳动节": ("2026-05-01", "2026-05-05"),
    "端午节": ("2026-06-19", "2026-06-21"),
    "中秋节": ("2026-09-25", "2026-09-27"),
    "国庆节": ("2026-10-01", "2026-10-07"),
    "元旦 2027": ("2027-01-01", "2027-01-01"),
    "劳动节 2027": ("2027-05-01", "2027-05-02"),
    "国庆节 2027": ("2027-10-01", "2027-10-03"),
}
DEFAULT_WORKDAYS: dict[str, str] = {
    "2026-01-04": "元旦调休",
    "2026-02-14": "春节调休",
    "2026-02-28": "春节调休",
    "2026-05-09": "劳动节调休",
    "2026-09-20": "国庆节调休",
    "2026-10-10": "国庆节调休",
}


async def ensure_default_calendar() -> bool:
    """Create the school default calendar with the public holidays once; True when created.

    Idempotent: does nothing when a default calendar exists (even one the admin has edited)."""
    if await BusinessCalendar.exists().where(BusinessCalendar.campus.is_null()):
        return False
    weekly = [DEFAULT_SHIFTS] * 6 + [[]]
    async with UnitOfWork() as uow:
        calendar_id = (
            await BusinessCalendar.insert(
                BusinessCalendar(name=DEFAULT_NAME, timezone="Asia/Shanghai", weekly=weekly, campus=None)
            ).returning(BusinessCalendar.id)
        )[0]["id"]
        rows = []
        for note, (first, last) in DEFAULT_HOLIDAYS.items():
            day, end = date.fromisoformat(first), date.fromisoformat(last)
            while day <= end:
                rows.append(CalendarDay(calendar=calendar_id, day=day, kind="holiday", shifts=[], note=note))
                day += timedelta(days=1)
        for iso_day, note in DEFAULT_WORKDAYS.items():
            rows.append(
                CalendarDay(
                    calendar=calendar_id,
                    day=date.fromisoformat(iso_day),
                    kind="workday",
                    shifts=DEFAULT_SHIFTS,
                    note=note,
                )
            )
        await CalendarDay.insert(*rows)
        await audit.record(
            actor_id=None,
            action="create",
            entity_type=ENTITY,
            entity_id=calendar_id,
            changes=audit.snapshot(
                {"name": DEFAULT_NAME, "timezone": "Asia/Shanghai", "weekly": weekly}, CALENDAR_FIELDS
            ),
        )
        drop_cache_after_commit(uow)
    return True
