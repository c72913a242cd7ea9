"""Moving a student to the recycle bin and back (the bin itself is app/recycle, the kind's registration
app/recycle/kinds/students.py).

A student is deleted and restored by admins, supervisors and academic affairs (`students.delete`) who
may see them alive (app/students/policy.py); someone who may see the student without that right is
answered 403 with the reason, anyone else 404, as if the student did not exist. Deleting is soft and
keeps everything: tags, follow-ups, enrolments and tickets stay attached until a purge (which
enrolments block).
"""

from __future__ import annotations

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Forbidden, NotFound
from app.core.events import Event
from app.core.i18n import N_
from app.core.permissions import CurrentUser, has_permission
from app.students.audience import of_student
from app.students.policy import visibility_filter
from tables.students.tables import Student

_GONE = N_("This student does not exist or you cannot see them.")


def can_delete(user: CurrentUser) -> bool:
    return has_permission(user, "students.delete")


async def _load(user: CurrentUser, student_id: int) -> dict:
    where = Student.id == student_id
    visible = await visibility_filter(user)
    if visible is not None:
        where &= visible
    row = await Student.select(Student.id, Student.name, Student.deleted_at).where(where).first()
    if row is None:
        raise NotFound(_GONE)
    if not can_delete(user):
        raise Forbidden(N_("Only administrators, supervisors and academic affairs can delete or restore students."))
    return row


async def delete_student(user: CurrentUser, student_id: int, *, ip: str = "", clock: Clock = system_clock) -> dict:
    """Returns the student (`id`, `name`); 404 when they are gone already, or went meanwhile."""
    student = await _load(user, student_id)
    if student["deleted_at"] is not None:
        raise NotFound(_GONE)
    async with UnitOfWork() as uow:
        done = (
            await Student.update({Student.deleted_at: clock.now(), Student.version: Student.version + 1})
            .where((Student.id == student_id) & Student.deleted_at.is_null())
            .returning(Student.id)
        )
        if not done:  # a second click or another user won the race: one delete, one audit row
            raise NotFound(_GONE)
        await audit.record(
            actor_id=user.id, action="delete", entity_type="student", entity_id=student_id, changes={}, ip=ip
        )
        uow.emit(Event("student.deleted", {"id": student_id}, audience=of_student(student_id)))
    return student


async def restore_student(user: CurrentUser, student_id: int, ip: str = "") -> None:
    student = await _load(user, student_id)
    if student["deleted_at"] is None:
        return
    async with UnitOfWork() as uow:
        await Student.update({Student.deleted_at: None, Student.version: Student.version + 1}).where(
            Student.id == student_id
        )
        await audit.record(
            actor_id=user.id, action="restore", entity_type="student", entity_id=student_id, changes={}, ip=ip
        )
        uow.emit(Event("student.restored", {"id": student_id}, audience=of_student(student_id)))
