"""Business-hours admin pages: admins only, inline 422 errors naming the field, nothing saved on errors."""

from __future__ import annotations

from datetime import date

from app.calendars import defaults, services
from tables.audit.tables import AuditEntry
from tables.calendars.tables import BusinessCalendar, CalendarDay
from tests.support import make_campus, post_form


def weekly_form(calendar: dict, **overrides) -> dict:
    """The form a browser posts for the calendar as it is, with `overrides` on top."""
    data = {
        "name": calendar["name"],
        "timezone": calendar["timezone"],
        "campus": str(calendar["campus"] or ""),
        "version": str(calendar["version"]),
    }
    for day, shifts in enumerate(calendar["weekly"]):
        if not shifts:
            data[f"d{day}_closed"] = "1"
        for n, (start, end) in enumerate(shifts):
            data[f"d{day}_s{n}_start"] = services.format_minute(start)
            data[f"d{day}_s{n}_end"] = services.format_minute(end)
    data.update(overrides)
    return data


async def default_calendar() -> dict:
    await defaults.ensure_default_calendar()
    row = await BusinessCalendar.select().where(BusinessCalendar.campus.is_null()).first()
    return await services.get_calendar(row["id"])


async def test_non_admins_get_403_and_change_nothing(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("supervisor"))
    base = f"/admin/calendars/{calendar['id']}"
    responses = [
        await client.get("/admin/calendars"),
        await client.get(base),
        await client.get(f"{base}/check?at=2026-11-27T17:00&hours=2"),
        await post_form(client, base, weekly_form(calendar, name="改掉")),
        await post_form(
            client, "/admin/calendars", weekly_form(calendar, name="新的", campus=str(await make_campus()))
        ),
        await post_form(client, f"{base}/days", {"start": "2026-12-24", "kind": "holiday"}),
        await post_form(client, f"{base}/days/{calendar['days'][0]['id']}/delete", {}),
    ]
    assert [r.status_code for r in responses] == [403] * 7
    after = await services.get_calendar(calendar["id"])
    assert after["name"] == "服务时间" and after["version"] == 1 and len(after["days"]) == len(calendar["days"])
    assert await BusinessCalendar.count() == 1
    assert await AuditEntry.count().where(AuditEntry.entity_type == services.ENTITY) == 1  # the seeding only


async def test_admin_sees_the_list_and_the_staff_page_links_to_it(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    listing = await client.get("/admin/calendars")
    assert listing.status_code == 200
    assert "服务时间" in listing.text and f'href="/admin/calendars/{calendar["id"]}"' in listing.text
    assert "08:30–12:00, 13:00–20:30" in listing.text and "Asia/Shanghai" in listing.text
    staff = await client.get("/admin/staff")
    assert 'href="/admin/calendars"' in staff.text
    edit = await client.get(f"/admin/calendars/{calendar['id']}")
    assert edit.status_code == 200
    assert 'name="d5_s1_end" value="20:30"' in edit.text and "2026-10-01" in edit.text and "国庆节" in edit.text


async def test_admin_edits_weekly_hours_with_a_split_shift(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    form = weekly_form(
        calendar,
        d6_closed="",
        d6_s0_start="09:00",
        d6_s0_end="12:00",
        d6_s1_start="14:00",
        d6_s1_end="17:00",
        d0_closed="1",
    )
    response = await post_form(client, f"/admin/calendars/{calendar['id']}", form)
    assert response.status_code in (302, 303) and response.headers["location"].endswith("?saved=1")
    after = await services.get_calendar(calendar["id"])
    assert after["weekly"][6] == [[540, 720], [840, 1020]] and after["weekly"][0] == [] and after["version"] == 2
    hours = await services.hours_for_campus(None)
    assert hours.weekly[6] == ((540, 720), (840, 1020))
    entry = (
        await AuditEntry.select()
        .where(AuditEntry.entity_type == services.ENTITY)
        .order_by(AuditEntry.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    assert entry["action"] == "update" and set(entry["changes"]) == {"weekly"}


async def test_bad_weekly_hours_answer_422_naming_the_day_and_save_nothing(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    form = weekly_form(calendar, d1_s1_start="11:00", timezone="Nowhere/City")  # overlaps 08:30–12:00
    response = await post_form(client, f"/admin/calendars/{calendar['id']}", form)
    assert response.status_code == 422
    assert 'id="cal-day-1-error"' in response.text and 'id="f-timezone-error"' in response.text
    assert 'id="cal-day-0-error"' not in response.text
    assert 'value="11:00"' in response.text  # the admin's input is kept
    after = await services.get_calendar(calendar["id"])
    assert after["version"] == 1 and after["weekly"] == calendar["weekly"] and after["timezone"] == "Asia/Shanghai"


async def test_half_filled_shift_and_late_time_are_refused(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    for overrides, day in (({"d2_s2_start": "21:00"}, 2), ({"d3_s1_end": "24:30"}, 3)):
        response = await post_form(client, f"/admin/calendars/{calendar['id']}", weekly_form(calendar, **overrides))
        assert response.status_code == 422 and f'id="cal-day-{day}-error"' in response.text
    assert (await services.get_calendar(calendar["id"]))["version"] == 1


async def test_admin_creates_a_campus_calendar(client, make_user, login):
    calendar = await default_calendar()
    campus = await make_campus("西湖校区")
    await login(client, await make_user("admin"))
    form = weekly_form(calendar, name="西湖校区时间", campus=str(campus))
    del form["version"]
    response = await post_form(client, "/admin/calendars", form)
    assert response.status_code in (302, 303)
    row = await BusinessCalendar.select().where(BusinessCalendar.campus == campus).first()
    assert row["name"] == "西湖校区时间"
    again = await post_form(client, "/admin/calendars", {**form, "name": "重复"})
    assert again.status_code == 422 and 'id="f-campus-error"' in again.text
    assert await BusinessCalendar.count() == 2


async def test_admin_adds_a_range_of_holidays_and_removes_one_day(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    base = f"/admin/calendars/{calendar['id']}"
    response = await post_form(
        client, f"{base}/days", {"start": "2026-12-24", "end": "2026-12-26", "kind": "holiday", "note": "圣诞"}
    )
    assert response.status_code in (302, 303)
    days = await CalendarDay.select().where((CalendarDay.calendar == calendar["id"]) & (CalendarDay.note == "圣诞"))
    assert sorted(d["day"] for d in days) == [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)]
    workday = await post_form(
        client, f"{base}/days", {"start": "2026-12-27", "kind": "workday", "shifts": "09:00-12:00，13:00-17:00"}
    )
    assert workday.status_code in (302, 303)
    row = await CalendarDay.select().where(CalendarDay.day == date(2026, 12, 27)).output(load_json=True).first()
    assert row["kind"] == "workday" and row["shifts"] == [[540, 720], [780, 1020]]
    removed = await post_form(client, f"{base}/days/{days[0]['id']}/delete", {})
    assert removed.status_code in (302, 303)
    assert await CalendarDay.count().where(CalendarDay.note == "圣诞") == 2


async def test_bad_special_days_answer_422_and_save_nothing(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    before = await CalendarDay.count()
    base = f"/admin/calendars/{calendar['id']}/days"
    cases = [
        ({"start": "2026-12-26", "end": "2026-12-24", "kind": "holiday"}, "f-end-error"),
        ({"start": "", "kind": "holiday"}, "f-start-error"),
        ({"start": "2026-12-27", "kind": "workday", "shifts": "9点到12点"}, "f-shifts-error"),
    ]
    for form, marker in cases:
        response = await post_form(client, base, form)
        assert response.status_code == 422 and f'id="{marker}"' in response.text, form
    assert await CalendarDay.count() == before
    assert (await services.get_calendar(calendar["id"]))["version"] == 1


async def test_check_widget_shows_the_due_time(client, make_user, login):
    calendar = await default_calendar()
    await login(client, await make_user("admin"))
    url = f"/admin/calendars/{calendar['id']}/check"
    # Wednesday 09-30 20:00 + 1 business hour: 30 minutes, the National Day week, then 10-08 08:30 + 30.
    fragment = await client.get(url, params={"at": "2026-09-30T20:00", "hours": "1"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "2026-10-08 09:00" in fragment.text and "<html" not in fragment.text
    bad = await client.get(url, params={"at": "soon", "hours": "x"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "field-error" in bad.text
    full = await client.get(url, params={"at": "2026-09-30T20:00", "hours": "1"})
    assert full.status_code == 200 and "2026-10-08 09:00" in full.text and "<html" in full.text
