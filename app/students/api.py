"""REST: /api/v1/students (list with search), /api/v1/students/{id} (profile, leads, tags, tickets; DELETE to
the recycle bin) and /api/v1/students/{id}/phone/reveal (the family's full numbers, audited)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery

from app.core.api import ERRORS, to
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.pagination import PageRequest
from app.leads.phone_controllers import NO_STORE
from app.students import deletion, phones, services

_PROFILE = (
    "id",
    "name",
    "gender",
    "birth_date",
    "grade",
    "guardian_name",
    "guardian_phone",
    "phones",
    "email",
    "wechat",
    "city",
    "district",
    "status",
    "version",
    "created_at",
    "updated_at",
)
_IDS = {"advisor": "advisor_id", "class_teacher": "class_teacher_id", "campus": "campus_id", "lead": "lead_id"}


class StudentSummary(msgspec.Struct):
    id: int
    name: str
    grade: str
    guardian_name: str
    guardian_phone: str
    phone_masked: bool
    status: str
    created_at: str
    advisor_id: int | None
    advisor_name: str | None
    class_teacher_id: int | None
    campus_id: int | None
    campus_name: str | None
    lead_id: int | None


class StudentPage(msgspec.Struct):
    items: list[StudentSummary]
    total: int
    limit: int
    offset: int


class StudentLead(msgspec.Struct):
    id: int
    student_name: str
    status: str
    converted_at: str | None


class StudentTicket(msgspec.Struct):
    id: int
    number: str
    title: str
    status: str
    priority: str
    created_at: str


class StudentOut(msgspec.Struct):
    id: int
    name: str
    gender: str
    birth_date: str | None
    grade: str
    guardian_name: str
    guardian_phone: str
    phones: list[str]
    phone_masked: bool
    email: str
    wechat: str
    city: str
    district: str
    status: str
    version: int
    created_at: str
    updated_at: str
    advisor_id: int | None
    advisor_name: str | None
    class_teacher_id: int | None
    class_teacher_name: str | None
    campus_id: int | None
    campus_name: str | None
    lead_id: int | None  # the source lead
    leads: list[StudentLead]  # every lead converted to or linked with this student
    tags: list[str]
    tickets: list[StudentTicket]  # those the caller may open
    hidden_tickets: int  # the others


class StudentPhones(msgspec.Struct):
    id: int
    guardian_phone: str
    phones: list[str]


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _summary(row: dict) -> StudentSummary:
    out = {k: _iso(row[k]) for k in ("id", "name", "grade", "guardian_name", "guardian_phone", "status", "created_at")}
    out.update({api: row[k] for k, api in _IDS.items()})
    out["advisor_name"], out["campus_name"] = row["advisor_name"], row["campus_name"]
    out["phone_masked"] = row["phone_masked"]
    return to(StudentSummary, out)


class StudentApi(Controller):
    path = "/api/v1/students"
    tags = ["students"]

    @get("/", responses=ERRORS)
    async def list_students(
        self,
        user: AuthUser,
        q: FromQuery[str] = "",
        limit: FromQuery[str | None] = None,
        offset: FromQuery[str | None] = None,
    ) -> StudentPage:
        """Students the caller may see, newest first; `q` searches name, guardian and phone."""
        result = await services.list_students(user, q, PageRequest.parse(limit, offset))
        return StudentPage(
            [_summary(phones.present_student(user, r)) for r in result.items], result.total, result.limit, result.offset
        )

    @get("/{student_id:int}", responses=ERRORS)
    async def get_student(self, user: AuthUser, student_id: FromPath[int]) -> Response[StudentOut]:
        """The profile with `lead_id` (the source lead), `leads` (every lead converted to or linked with
        this student), `tags` and the `tickets` the caller may open (`hidden_tickets`: the others)."""
        view = await services.student_overview(user, student_id)
        s = phones.present_student(user, view.student)
        body = {k: _iso(s[k]) for k in _PROFILE}
        body.update({api: s[k] for k, api in _IDS.items()})
        body.update(
            phone_masked=s["phone_masked"],
            advisor_name=s["advisor_name"],
            class_teacher_name=s["class_teacher_name"],
            campus_name=s["campus_name"],
            tags=view.tags,
            hidden_tickets=view.hidden_tickets,
            leads=[
                {
                    "id": lead["id"],
                    "student_name": lead["student_name"],
                    "status": lead["status"],
                    "converted_at": _iso(lead["converted_at"]),
                }
                for lead in view.leads
            ],
            tickets=[
                {
                    "id": t["id"],
                    "number": t["number"],
                    "title": t["title"],
                    "status": t["status"],
                    "priority": t["priority"],
                    "created_at": _iso(t["created_at"]),
                }
                for t in view.tickets
            ],
        )
        return Response(to(StudentOut, body), headers={"ETag": f'W/"{s["version"]}"'})

    @delete("/{student_id:int}", responses=ERRORS)
    async def delete_student(self, request: Request, user: AuthUser, student_id: FromPath[int]) -> None:
        """Move the student to the recycle bin (whoever may see them; restorable for 30 days at /recycle).
        404 when the student is gone already or the caller cannot see them."""
        await deletion.delete_student(user, student_id, ip=client_ip(request))

    @post("/{student_id:int}/phone/reveal", status_code=200, responses=ERRORS)
    async def reveal_phone(
        self, request: Request, user: AuthUser, student_id: FromPath[int]
    ) -> Response[StudentPhones]:
        """The family's full numbers `{"id", "guardian_phone", "phones"}` for a caller who sees them masked. Each
        call is audited (who, which student, when, from where); 403 when the caller may not see the student."""
        numbers = await phones.reveal_student_phone(user, student_id, ip=client_ip(request))
        return Response(to(StudentPhones, numbers), headers=NO_STORE)
