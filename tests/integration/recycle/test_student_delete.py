"""Deleting a student from the student page (confirm, then a page with Undo) and through
`DELETE /api/v1/students/{id}`: the student leaves the lists and pages, waits in the recycle bin, and
restoring brings them back. Only admins, supervisors and academic affairs delete students: whoever may
not see the student gets 404, whoever sees them without the right 403 with the reason; nothing moves."""

from __future__ import annotations

from app.core.pagination import PageRequest
from app.recycle import service
from tables.audit.tables import AuditEntry
from tables.students.tables import Student, StudentTag
from tests.support import login, make_campus, post_form, token_for


async def _student(name: str = "韩梅梅", **values) -> int:
    rows = await Student.insert(Student(name=name, guardian_phone="13700137000", **values)).returning(Student.id)
    return rows[0]["id"]


async def _deleted_at(student_id: int):
    return (await Student.select(Student.deleted_at).where(Student.id == student_id).first())["deleted_at"]


async def _audits(student_id: int, action: str) -> list[dict]:
    return await AuditEntry.select(AuditEntry.actor, AuditEntry.ip).where(
        (AuditEntry.entity_type == "student") & (AuditEntry.entity_id == student_id) & (AuditEntry.action == action)
    )


async def test_delete_from_the_page_then_undo_brings_the_student_back(client, make_user):
    advisor = await make_user("advisor")
    affairs = await make_user("academic_affairs")
    student = await _student(advisor=advisor.id)
    await StudentTag.insert(StudentTag(student=student, tag="VIP"))
    await login(client, affairs)
    page = await client.get(f"/students/{student}")
    assert f'hx-post="/students/{student}/delete"' in page.text and "hx-confirm=" in page.text

    moved = await post_form(
        client, f"/students/{student}/delete", {}, headers={"HX-Request": "true", "HX-Target": "main"}
    )
    assert moved.status_code == 200 and "已移到回收站" in moved.text and "韩梅梅" in moved.text
    assert moved.headers["hx-push-url"] == "/recycle?kind=student"
    assert f'action="/recycle/student/{student}/restore"' in moved.text and 'name="from" value="deleted"' in moved.text
    assert await _deleted_at(student) is not None
    assert (await client.get(f"/students/{student}")).status_code == 404
    assert "韩梅梅" not in (await client.get("/students")).text
    in_bin = await client.get("/recycle", params={"kind": "student"})
    assert f"bin-student-{student}" in in_bin.text and "韩梅梅" in in_bin.text
    again = await post_form(client, f"/students/{student}/delete", {})
    assert again.status_code == 404  # a second click does not delete twice
    assert await _audits(student, "delete") == [{"actor": affairs.id, "ip": "127.0.0.1"}]

    undone = await post_form(client, f"/recycle/student/{student}/restore", {"from": "deleted"})
    assert undone.status_code in (302, 303) and undone.headers["location"] == f"/students/{student}"
    assert await _deleted_at(student) is None
    back = await client.get(f"/students/{student}")
    assert back.status_code == 200 and "VIP" in back.text  # tags kept while in the bin
    assert "删除了" in back.text and "恢复了" in back.text  # both moves on the student's timeline
    assert len(await _audits(student, "restore")) == 1


async def test_delete_through_the_api_and_restore_from_the_bin(client, make_user):
    desk = await make_user("supervisor")
    student = await _student()
    headers = await token_for(desk)
    assert (await client.get(f"/api/v1/students/{student}", headers=headers)).status_code == 200
    deleted = await client.delete(f"/api/v1/students/{student}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(f"/api/v1/students/{student}", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/students", headers=headers)).json()["total"] == 0
    gone = await client.delete(f"/api/v1/students/{student}", headers=headers)
    assert gone.status_code == 404 and gone.json()["detail"]
    assert (await client.delete(f"/api/v1/students/{student + 1000}", headers=headers)).status_code == 404

    [item] = (await service.list_bin(desk, service.BinFilter(kind="student"), PageRequest())).items
    assert item["id"] == student and item["deleted_by"] == desk.id
    await login(client, desk)
    restored = await post_form(
        client, f"/recycle/student/{student}/restore", {}, headers={"HX-Request": "true", "HX-Target": "bin-results"}
    )
    assert restored.status_code == 200 and f'href="/students/{student}"' in restored.text
    assert (await client.get(f"/api/v1/students/{student}", headers=headers)).status_code == 200
    assert len(await _audits(student, "delete")) == 1 and len(await _audits(student, "restore")) == 1


async def test_no_one_deletes_a_student_they_may_not_see(client, make_user):
    campus, elsewhere = await make_campus(), await make_campus()
    advisor = await make_user("advisor")
    student = await _student(advisor=advisor.id, campus=campus)
    outsiders = [
        await make_user("advisor"),
        await make_user("finance"),
        await make_user("teacher"),
        await make_user("customer_service", campus=elsewhere),
    ]
    for user in outsiders:
        client.cookies.clear()
        await login(client, user)
        page = await post_form(client, f"/students/{student}/delete", {})
        assert page.status_code == 404 and "韩梅梅" not in page.text, user.role
        api = await client.delete(f"/api/v1/students/{student}", headers=await token_for(user))
        assert api.status_code == 404, user.role
    assert (await client.delete(f"/api/v1/students/{student}")).status_code == 401  # no token
    client.cookies.clear()
    await login(client, await make_user("admin"))
    no_csrf = await client.post(f"/students/{student}/delete", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403
    assert await _deleted_at(student) is None and await _audits(student, "delete") == []


async def test_those_who_see_a_student_without_the_right_get_403_and_no_button(client, make_user):
    campus = await make_campus()
    advisor, teacher = await make_user("advisor"), await make_user("class_teacher")
    student = await _student(advisor=advisor.id, class_teacher=teacher.id, campus=campus)
    for user in (advisor, teacher, await make_user("customer_service", campus=campus)):
        client.cookies.clear()
        await login(client, user)
        page = await client.get(f"/students/{student}")
        assert page.status_code == 200 and "韩梅梅" in page.text and f"/students/{student}/delete" not in page.text
        refused = await post_form(client, f"/students/{student}/delete", {}, headers={"HX-Request": "true"})
        assert refused.status_code == 403 and "教务" in refused.text, user.role
        api = await client.delete(f"/api/v1/students/{student}", headers=await token_for(user))
        assert api.status_code == 403 and "教务" in api.json()["detail"], user.role
    assert await _deleted_at(student) is None and await _audits(student, "delete") == []

    # In the bin, too, the kind is theirs only: the desk neither lists nor restores a deleted student.
    supervisor = await make_user("supervisor")
    await client.delete(f"/api/v1/students/{student}", headers=await token_for(supervisor))
    assert await _deleted_at(student) is not None
    desk = await make_user("customer_service", campus=campus)
    assert (await service.list_bin(desk, service.BinFilter(kind="student"), PageRequest())).items == []
    client.cookies.clear()
    await login(client, desk)
    refused = await post_form(client, f"/recycle/student/{student}/restore", {})
    assert refused.status_code in (403, 404) and await _deleted_at(student) is not None
