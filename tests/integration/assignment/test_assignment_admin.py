"""/admin/assignment: admins switch a type to manual, choose skill kinds and team, edit skills and shifts."""

from __future__ import annotations

import pytest

from app.assignment import services
from app.tickets.types.defaults import ensure_default_types
from tables.assignment.tables import AssignmentSetting, StaffShift, StaffSkill
from tables.audit.tables import AuditEntry
from tables.tickets.tables import TicketType
from tests.support import make_team, post_form


@pytest.fixture(autouse=True)
async def default_types():
    await ensure_default_types()


async def _type_id(code: str) -> int:
    return (await TicketType.select(TicketType.id).where(TicketType.code == code).first())["id"]


async def test_non_admins_can_neither_see_nor_change_assignment(client, make_user, login):
    await login(client, await make_user("supervisor"))
    repair = await _type_id("repair")
    page = await client.get("/admin/assignment")
    saved = await post_form(client, f"/admin/assignment/types/{repair}", {"mode": "manual", "skill_kinds": ["type"]})
    staff = await post_form(client, "/admin/assignment/staff/1", {"skills_type": ["repair"]})
    assert [page.status_code, saved.status_code, staff.status_code] == [403, 403, 403]
    assert await AssignmentSetting.count() == 0 and await StaffSkill.count() == 0


async def test_admin_page_lists_types_and_staff_with_their_skills(client, make_user, login):
    admin = await make_user("admin")
    agent = await make_user("customer_service", display_name="李客服")
    await StaffSkill.insert(StaffSkill(user=agent.id, kind="type", value="repair"))
    await login(client, admin)
    page = await client.get("/admin/assignment")
    assert page.status_code == 200
    for name in ("课程咨询", "设备报修", "李客服"):
        assert name in page.text
    assert f'href="/admin/assignment/staff/{agent.id}"' in page.text
    assert page.text.count('action="/admin/assignment/types/') == 6


async def test_admin_switches_a_type_to_manual_and_the_change_is_audited(client, make_user, login):
    admin = await make_user("admin")
    team = await make_team("客服一组")
    await login(client, admin)
    repair = await _type_id("repair")

    answer = await post_form(
        client,
        f"/admin/assignment/types/{repair}",
        {"mode": "manual", "skill_kinds": ["type", "campus"], "team": str(team)},
        headers={"HX-Request": "true"},
    )

    assert answer.status_code < 300 and answer.headers["hx-redirect"].startswith("/admin/assignment?saved=")
    setting = await services.setting_for(repair)
    assert setting == services.Setting("manual", ("campus", "type"), team)
    entry = (
        await AuditEntry.select(AuditEntry.changes)
        .where(AuditEntry.entity_type == "assignment_setting")
        .first()
        .output(load_json=True)
    )
    assert entry["changes"]["mode"] == ["auto", "manual"]


async def test_bad_setting_answers_422_naming_the_field(client, make_user, login):
    await login(client, await make_user("admin"))
    repair = await _type_id("repair")
    answer = await post_form(
        client, f"/admin/assignment/types/{repair}", {"mode": "sometimes", "skill_kinds": ["mood"], "team": "99"}
    )
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text and f'id="mode-{repair}-error"' in answer.text
    assert await AssignmentSetting.count() == 0


async def test_admin_edits_a_persons_skills_and_shifts(client, make_user, login):
    admin = await make_user("admin")
    agent = await make_user("customer_service")
    await login(client, admin)
    form = {
        "skills_type": ["repair", "refund"],
        "skills_subject": ["数学"],
        "skills_subject_other": "围棋, 美术",
        "skills_language": ["en"],
        "shifts_0": "09:00-12:00, 13:30-18:00",
        "shifts_5": "10:00-16:00",
    }

    answer = await post_form(client, f"/admin/assignment/staff/{agent.id}", form)

    assert answer.status_code == 302
    skills = {(r["kind"], r["value"]) for r in await StaffSkill.select(StaffSkill.kind, StaffSkill.value)}
    assert skills == {
        ("type", "repair"),
        ("type", "refund"),
        ("subject", "数学"),
        ("subject", "围棋"),
        ("subject", "美术"),
        ("language", "en"),
    }
    shifts = {(r["weekday"], r["start_minute"], r["end_minute"]) for r in await StaffShift.select()}
    assert shifts == {(0, 540, 720), (0, 810, 1080), (5, 600, 960)}
    page = await client.get(f"/admin/assignment/staff/{agent.id}")
    assert 'value="09:00-12:00, 13:30-18:00"' in page.text and 'value="围棋" checked' in page.text
    assert await AuditEntry.count().where(AuditEntry.entity_type == "staff_assignment") == 1


async def test_bad_shifts_answer_422_and_change_nothing(client, make_user, login):
    admin = await make_user("admin")
    agent = await make_user("customer_service")
    await StaffSkill.insert(StaffSkill(user=agent.id, kind="type", value="repair"))
    await login(client, admin)
    answer = await post_form(
        client,
        f"/admin/assignment/staff/{agent.id}",
        {"skills_type": ["refund"], "shifts_2": "18:00-09:00", "shifts_3": "9 to 5"},
    )
    assert answer.status_code == 422
    assert 'id="f-shifts_2-error"' in answer.text and 'id="f-shifts_3-error"' in answer.text
    assert [(r["kind"], r["value"]) for r in await StaffSkill.select(StaffSkill.kind, StaffSkill.value)] == [
        ("type", "repair")
    ]
    assert await StaffShift.count() == 0


async def test_overlapping_shifts_are_refused():
    from app.assignment.admin import parse_shifts

    assert (
        parse_shifts("09:00-12:00，11:00-13:00", "shifts_0")[1][0].message == "Shifts on the same day must not overlap."
    )
    assert parse_shifts("13:30-18:00, 09:00-12:00", "shifts_0") == ([(540, 720), (810, 1080)], [])
    assert parse_shifts("00:00-24:00", "shifts_0") == ([(0, 1440)], [])
