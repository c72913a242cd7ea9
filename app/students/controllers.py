"""Student pages: /students (search, pagination) and /students/{id}, the 360° view."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.core.pagination import PageRequest
from app.core.web import page
from app.leads import follow_ups
from app.leads import services as lead_services
from app.students import services
from app.tickets import workflow


class StudentController(Controller):
    path = "/students"
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, q: FromQuery[str] = "", limit: FromQuery[str] = "",
                    offset: FromQuery[str] = "") -> Response:  # fmt: skip
        result = await services.list_students(request.scope["user"], q, PageRequest.parse(limit, offset))
        partial = request.htmx and request.htmx.target == "student-results"
        return await page(request, "students/rows.html" if partial else "students/index.html", page_data=result, q=q,
                          statuses=services.STATUSES)  # fmt: skip

    @get("/{student_id:int}")
    async def detail(self, request: Request, student_id: FromPath[int]) -> Response:
        view = await services.student_overview(request.scope["user"], student_id)
        return await page(
            request, "students/detail.html", view=view, student=view.student, student_statuses=services.STATUSES,
            statuses=lead_services.STATUSES, sources=lead_services.SOURCES, ticket_statuses=workflow.STATUSES,
            items=view.timeline, kinds=follow_ups.KINDS, outcomes=follow_ups.OUTCOMES,
            field_labels=lead_services.FIELD_LABELS,
        )  # fmt: skip
