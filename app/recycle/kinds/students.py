"""Students in the recycle bin, and the soft delete and restore of a student.

The students pages have no Delete button yet, so deleting and restoring a student live here; they can
move to app/students/ with the button, and this module keep only the registration.
A student is seen (and deleted, restored) by whoever may see them alive (app/students/policy.py: the
desk of their campus, their advisor and class teacher and the people above them, admins). A student with enrolments cannot be deleted for good: enrolments are teaching and
money records (`Enrollment.student` is ON DELETE RESTRICT); withdraw them first.
"""

from __future__ import annotations

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, NotFound
from app.core.events import Event
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.leads import phones
from app.recycle.registry import RecycleKind, register
from app.students.policy import visibility_filter
from tables.students.tables import Student
from tables.teaching.tables import Enrollment


async def _load(user: CurrentUser, student_id: int) -> dict:
    where = Student.id == student_id
    visible = await visibility_filter(user)
    if visible is not None:
        where &= visible
    row = await Student.select(Student.id, Student.name, Student.deleted_at).where(where).first()
    if row is None:
        raise NotFound(N_("This student does not exist or you cannot see them."))
    return row


async def delete_student(user: CurrentUser, student_id: int, *, ip: str = "", clock: Clock = system_clock) -> None:
    student = await _load(user, student_id)
    if student["deleted_at"] is not None:
        raise NotFound(N_("This student does not exist or you cannot see them."))
    async with UnitOfWork() as uow:
        await Student.update({Student.deleted_at: clock.now()}).where(Student.id == student_id)
        await audit.record(actor_id=user.id, action="delete", entity_type="student", entity_id=student_id, changes={},
                           ip=ip)  # fmt: skip
        uow.emit(Event("student.deleted", {"id": student_id}))


async def restore_student(user: CurrentUser, student_id: int, ip: str = "") -> None:
    student = await _load(user, student_id)
    if student["deleted_at"] is None:
        return
    async with UnitOfWork() as uow:
        await Student.update({Student.deleted_at: None}).where(Student.id == student_id)
        await audit.record(actor_id=user.id, action="restore", entity_type="student", entity_id=student_id,
                           changes={}, ip=ip)  # fmt: skip
        uow.emit(Event("student.restored", {"id": student_id}))


async def _visible(user: CurrentUser):
    return await visibility_filter(user)


def _search(term: str):
    like = f"%{term}%"
    return Student.name.ilike(like) | Student.guardian_name.ilike(like) | Student.guardian_phone.like(like)


async def _describe(user: CurrentUser, rows: list[dict]) -> None:
    for row in rows:
        phone = row["guardian_phone"]
        if not phones.sees_full(user, row["advisor"], row["class_teacher"]):
            phone = phones.mask_phone(phone)
        row["title"] = row["name"]
        row["subtitle"] = " · ".join(x for x in (row["guardian_name"], phone) if x)


async def _check_purge(student_id: int) -> None:
    if await Enrollment.exists().where(Enrollment.student == student_id):
        raise Conflict(N_("This student still has enrolments, which are kept as teaching and payment records. "
                          "Withdraw them first."))  # fmt: skip


register(RecycleKind(
    name="student", label=N_("Student"), table=Student,
    columns=(Student.name, Student.guardian_name, Student.guardian_phone, Student.advisor, Student.class_teacher),
    search=_search, visible=_visible, describe=_describe, restore=restore_student,
    url=lambda i: f"/students/{i}", check_purge=_check_purge,
))  # fmt: skip
