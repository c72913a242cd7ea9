"""A campus with the people the refund workflow needs, and refund tickets for their students."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.approvals.workflows import ensure_refund_workflow
from app.core.clock import Clock, FrozenClock
from app.core.permissions import CurrentUser
from app.tickets import services
from app.tickets.services import Draft
from app.tickets.types.defaults import ensure_default_types
from tables.students.tables import Student
from tests.support import make_campus, make_user

# A Wednesday, 10:00 in Shanghai.
WEDNESDAY_TEN = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


async def seeded_workflows() -> None:
    await ensure_default_types()
    await ensure_refund_workflow()


@dataclass
class School:
    campus: int
    desk: CurrentUser
    class_teacher: CurrentUser
    supervisor: CurrentUser
    finance: CurrentUser
    admin: CurrentUser
    student: int


async def make_school() -> School:
    campus = await make_campus()
    class_teacher = await make_user("class_teacher", campus=campus, display_name="王老师")
    rows = await Student.insert(Student(name="小明", campus=campus, class_teacher=class_teacher.id)).returning(
        Student.id
    )
    return School(
        campus=campus,
        desk=await make_user("customer_service", campus=campus),
        class_teacher=class_teacher,
        supervisor=await make_user("supervisor", campus=campus, display_name="李主管"),
        finance=await make_user("finance", campus=campus, display_name="赵会计"),
        admin=await make_user("admin"),
        student=rows[0]["id"],
    )


def refund_draft(school: School, title: str = "退费申请 小明") -> Draft:
    return Draft(
        type="refund",
        title=title,
        student_id=school.student,
        campus_id=school.campus,
        fields={"contract_no": "HT-2026-001", "amount": "1200", "reason": "搬家", "account_name": "张三"},
    )


async def open_refund(school: School, clock: Clock | None = None, **kwargs) -> dict:
    return await services.create_ticket(
        school.desk, refund_draft(school, **kwargs), clock=clock or FrozenClock(WEDNESDAY_TEN)
    )
