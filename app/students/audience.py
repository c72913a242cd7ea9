"""Who may receive a student's events: the student visibility of app/students/policy.py, as an audience.

The desk of the student's campus (every desk when none), the advisor and the class teacher, and
the leaders above them.
"""

from __future__ import annotations

from app.core.events import Audience, record_audience
from app.tickets.audience import desk_of
from tables.students.tables import Student


@record_audience("student")
async def student_viewers(ids: list[int]) -> Audience:
    rows = await Student.select(Student.campus, Student.advisor, Student.class_teacher).where(Student.id.is_in(ids))
    found = Audience(owners=tuple(o for r in rows for o in (r["advisor"], r["class_teacher"])))
    for campus in {r["campus"] for r in rows}:
        found |= desk_of(campus)
    return found


def of_student(*student_ids: int) -> Audience:
    return Audience.record("student", *student_ids)
