"""Students in the recycle bin. Deleting and restoring live in app/students/deletion.py (who may:
admins, supervisors and academic affairs who may see the student alive; only they see the kind here). A student with enrolments cannot be deleted for good: enrolments
are teaching and money records (`Enrollment.student` is ON DELETE RESTRICT); withdraw them first.
"""

from __future__ import annotations

from app.core import phones
from app.core.errors import Conflict
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.recycle.registry import RecycleKind, register
from app.students.deletion import can_delete, delete_student, restore_student

__all__ = ["delete_student", "restore_student"]  # delete_student lived here before the page had its button
from app.students.policy import visibility_filter
from tables.students.tables import Student
from tables.teaching.tables import Enrollment


async def _visible(user: CurrentUser):
    if not can_delete(user):
        return False
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
        raise Conflict(
            N_(
                "This student still has enrolments, which are kept as teaching and payment records. "
                "Withdraw them first."
            )
        )


register(
    RecycleKind(
        name="student",
        label=N_("Student"),
        table=Student,
        columns=(Student.name, Student.guardian_name, Student.guardian_phone, Student.advisor, Student.class_teacher),
        search=_search,
        visible=_visible,
        describe=_describe,
        restore=restore_student,
        url=lambda i: f"/students/{i}",
        check_purge=_check_purge,
    )
)
