"""A student's family numbers as a user may see them: the lead rule (app/leads/phones.py) with the
student's own people, its advisor and class teacher, in place of a lead's owner; and the audited
"显示" reveal of the masked ones."""

from __future__ import annotations

from app.core.permissions import CurrentUser
from app.core.phones import audit_reveal, mask_phone, present_changes, sees_full
from app.students import policy
from tables.students.tables import Student


def sees_numbers(user: CurrentUser, student: dict) -> bool:
    return sees_full(user, student.get("advisor"), student.get("class_teacher"))


def present_student(user: CurrentUser, student: dict) -> dict:
    """A copy with `guardian_phone` and `phones` masked (138****8000) unless the user sees them in full."""
    if sees_numbers(user, student):
        return {**student, "phone_masked": False}
    out = {**student, "phone_masked": True}
    if "guardian_phone" in out:
        out["guardian_phone"] = mask_phone(out["guardian_phone"] or "")
    if "phones" in out:
        out["phones"] = [mask_phone(p) for p in out["phones"] or []]
    return out


def present_timeline(user: CurrentUser, student: dict, items: list[dict]) -> list[dict]:
    """Timeline audit entries with the numbers in their changes masked like the student's."""
    if sees_numbers(user, student):
        return items
    return present_changes(user, None, items)


async def reveal_student_phone(user: CurrentUser, student_id: int, *, ip: str = "") -> dict:
    """The family's full numbers `{"id", "guardian_phone", "phones"}` for someone who may see the student
    (403 for anyone else, and for a student in the recycle bin); one audit row per reveal."""
    student = (
        await Student.select(
            Student.campus,
            Student.advisor,
            Student.class_teacher,
            Student.guardian_phone,
            Student.phones,
            Student.deleted_at,
        )
        .where(Student.id == student_id)
        .first()
        .output(load_json=True)
    )
    allowed = student is not None and student["deleted_at"] is None and await policy.can_view(user, student)
    await audit_reveal(user, "student_phone", student_id, allowed=allowed, ip=ip)
    return {"id": student_id, "guardian_phone": student["guardian_phone"], "phones": student["phones"] or []}
