"""Student pages: /students (search, pagination) and /students/{id}, the 360° view, with the family's
numbers' "显示" reveal and the Delete button (to the recycle bin, with Undo)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.pagination import PageRequest
from app.core.web import page
from app.leads import services as lead_services
from app.leads.follow_ups import services as follow_ups
from app.leads.phone_controllers import revealed, wants_others
from app.recycle.controllers import moved_to_bin
from app.students import deletion, phones, services
from app.tickets import workflow


class StudentController(Controller):
    path = "/students"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        q: FromQuery[str] = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        result = await services.list_students(user, q, PageRequest.parse(limit, offset))
        result.items = [phones.present_student(user, row) for row in result.items]
        partial = request.htmx and request.htmx.target == "student-results"
        return await page(
            request,
            "students/rows.html" if partial else "students/index.html",
            page_data=result,
            q=q,
            statuses=services.STATUSES,
        )

    @get("/{student_id:int}")
    async def detail(self, request: Request, user: AuthUser, student_id: FromPath[int]) -> Response:
        view = await services.student_overview(user, student_id)
        return await page(
            request,
            "students/detail.html",
            view=view,
            student=phones.present_student(user, view.student),
            student_statuses=services.STATUSES,
            statuses=lead_services.STATUSES,
            sources=lead_services.SOURCES,
            ticket_statuses=workflow.STATUSES,
            items=phones.present_timeline(user, view.student, view.timeline),
            kinds=follow_ups.KINDS,
            outcomes=follow_ups.OUTCOMES,
            field_labels=lead_services.FIELD_LABELS,
            can_delete=deletion.can_delete(user),
        )

    @post("/{student_id:int}/phone/reveal", status_code=200)
    async def reveal(self, request: Request, user: AuthUser, student_id: FromPath[int]) -> Response:
        """The "显示" button: the family's full numbers in place of the masked ones; audited."""
        numbers = await phones.reveal_student_phone(user, student_id, ip=client_ip(request))
        return revealed(
            f"student-phone-{student_id}",
            numbers["guardian_phone"],
            numbers["phones"],
            others=await wants_others(request),
        )

    @post("/{student_id:int}/delete")
    async def delete(self, request: Request, user: AuthUser, student_id: FromPath[int]) -> Response:
        student = await deletion.delete_student(user, student_id, ip=client_ip(request))
        return await moved_to_bin(request, "student", student_id, student["name"], "/students")
