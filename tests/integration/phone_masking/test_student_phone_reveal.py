"""The "显示" reveal on student pages (PIPL): the family's numbers are masked for the desk and others
without the right, the button and `POST /api/v1/students/{id}/phone/reveal` give them in full with exactly
one audit row each, which the admins' reveal log shows with the student; whoever has no reason to see the
student gets 403 and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

from tables.audit.tables import AuditEntry
from tables.students.tables import Student
from tests.support import login, make_campus, post_form, token_for

FULL, OTHER, MASKED = "13800138000", "13900139000", "138****8000"


async def _student(**values) -> int:
    rows = await Student.insert(
        Student(name="李小龙", guardian_name="李妈妈", guardian_phone=FULL, phones=[OTHER], **values)
    ).returning(Student.id)
    return rows[0]["id"]


async def _reveals() -> list[dict]:
    return (
        await AuditEntry.select(
            AuditEntry.actor,
            AuditEntry.entity_type,
            AuditEntry.entity_id,
            AuditEntry.action,
            AuditEntry.ip,
            AuditEntry.changes,
        )
        .where(AuditEntry.action == "reveal")
        .order_by(AuditEntry.id)
        .output(load_json=True)
    )


async def test_the_desk_reveals_a_students_numbers_with_one_audit_row_each_time(client, make_user):
    advisor, desk = await make_user("advisor"), await make_user("customer_service", display_name="客服小王")
    student = await _student(advisor=advisor.id)
    await login(client, desk)
    page = await client.get(f"/students/{student}")
    assert page.status_code == 200 and MASKED in page.text and "139****9000" in page.text
    assert FULL not in page.text and OTHER not in page.text
    assert f'hx-post="/students/{student}/phone/reveal"' in page.text and "显示" in page.text
    listing = await client.get("/students")
    assert MASKED in listing.text and f'hx-post="/students/{student}/phone/reveal"' in listing.text
    assert await _reveals() == []  # looking at the masked page is not a reveal

    shown = await post_form(
        client, f"/students/{student}/phone/reveal", {"others": "1"}, headers={"HX-Request": "true"}
    )
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert f'id="student-phone-{student}"' in shown.text and FULL in shown.text and OTHER in shown.text
    assert "<html" not in shown.text  # the fragment the button swaps in, not a page
    only_main = await post_form(client, f"/students/{student}/phone/reveal", {}, headers={"HX-Request": "true"})
    assert FULL in only_main.text and OTHER not in only_main.text  # the list's button: the main number
    row = {
        "actor": desk.id,
        "entity_type": "student_phone",
        "entity_id": student,
        "action": "reveal",
        "ip": "127.0.0.1",
        "changes": {},
    }
    assert await _reveals() == [row, row]

    api = await client.post(f"/api/v1/students/{student}/phone/reveal", headers=await token_for(desk))
    assert api.status_code == 200 and api.headers["cache-control"] == "no-store"
    assert api.json() == {"id": student, "guardian_phone": FULL, "phones": [OTHER]}
    assert await _reveals() == [row, row, row]
    # Reveals stay off the student's own timeline; the profile API still masks.
    assert "action-reveal" not in (await client.get(f"/students/{student}")).text
    profile = (await client.get(f"/api/v1/students/{student}", headers=await token_for(desk))).json()
    assert profile["guardian_phone"] == MASKED and profile["phone_masked"] is True


async def test_the_students_own_people_see_full_numbers_without_a_button(client, make_user):
    advisor, teacher = await make_user("advisor"), await make_user("class_teacher")
    supervisor = await make_user("supervisor")
    student = await _student(advisor=advisor.id, class_teacher=teacher.id)
    for user in (advisor, teacher, supervisor):
        client.cookies.clear()
        await login(client, user)
        page = await client.get(f"/students/{student}")
        assert page.status_code == 200 and FULL in page.text and OTHER in page.text, user.role
        assert "phone/reveal" not in page.text, user.role
    assert await _reveals() == []


async def test_reveal_is_refused_without_a_reason_to_see_the_student(client, make_user):
    campus, elsewhere = await make_campus(), await make_campus()
    advisor = await make_user("advisor")
    refused_users = [
        await make_user("advisor"),
        await make_user("finance"),
        await make_user("teacher"),
        await make_user("customer_service", campus=elsewhere),
    ]
    student = await _student(advisor=advisor.id, campus=campus)
    for user in refused_users:
        client.cookies.clear()
        await login(client, user)
        page = await post_form(client, f"/students/{student}/phone/reveal", {"others": "1"})
        assert page.status_code == 403 and FULL not in page.text and OTHER not in page.text, user.role
        api = await client.post(f"/api/v1/students/{student}/phone/reveal", headers=await token_for(user))
        assert api.status_code == 403 and FULL not in api.text, user.role
        assert "学员" in api.json()["detail"], user.role  # the localized reason names the student
    # The desk of the student's campus may see them, but not once they are in the recycle bin, nor a missing id.
    desk = await make_user("customer_service", campus=campus)
    await Student.update({Student.deleted_at: datetime.now(UTC)}).where(Student.id == student)
    headers = await token_for(desk)
    assert (await client.post(f"/api/v1/students/{student}/phone/reveal", headers=headers)).status_code == 403
    assert (await client.post(f"/api/v1/students/{student + 1000}/phone/reveal", headers=headers)).status_code == 403
    assert await _reveals() == []


async def test_the_reveal_log_shows_student_reveals_and_filters_by_kind(client, make_user):
    admin, desk = await make_user("admin"), await make_user("customer_service", display_name="客服小李")
    student = await _student()
    await login(client, desk)
    assert (await post_form(client, f"/students/{student}/phone/reveal", {})).status_code == 200
    client.cookies.clear()
    await login(client, admin)
    log = await client.get("/admin/phone-reveals")
    assert log.status_code == 200 and "客服小李" in log.text and f'href="/students/{student}"' in log.text
    assert f"学员 #{student}" in log.text
    students_only = await client.get("/admin/phone-reveals", params={"kind": "student_phone", "record": student})
    assert f'href="/students/{student}"' in students_only.text
    assert '<option value="student_phone" selected>' in students_only.text
    leads_only = await client.get("/admin/phone-reveals", params={"kind": "lead_phone"})
    assert f'href="/students/{student}"' not in leads_only.text and "<td" not in leads_only.text
