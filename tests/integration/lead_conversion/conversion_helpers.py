"""Building leads, students and family tickets for the conversion tests, through the real services."""

from __future__ import annotations

import itertools

from app.leads import services as lead_services
from app.tickets import services as ticket_services
from app.tickets.types.defaults import ensure_default_types
from tables.students.tables import Student
from tests.support import repair

_n = itertools.count(1)


async def make_lead(actor, **values) -> dict:
    n = next(_n)
    data = {
        "student_name": f"王小明{n}",
        "guardian_name": "王女士",
        "phone": f"1391234{n:04d}",
        "email": f"wang{n}@example.cn",
        "wechat": f"wx_wang{n}",
        "city": "北京",
        "district": "海淀",
        "grade": "三年级",
        "status": "trial",
        **values,
    }
    return await lead_services.create_lead(actor, data)


async def make_student(name: str = "王大明", phone: str = "", **values) -> int:
    rows = await Student.insert(Student(name=name, guardian_phone=phone, **values)).returning(Student.id)
    return rows[0]["id"]


async def family_ticket(actor, phone: str, title: str = "试听课时间调整", kind: str = "lead") -> dict:
    await ensure_default_types()
    return await ticket_services.create_ticket(actor, repair(title, requester_kind=kind, requester_phone=phone))
