"""Converting a lead to a student: the confirm page and its form, and POST /api/v1/leads/{id}/convert."""

from __future__ import annotations

import re

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from app.core.api import ERRORS, DbInt
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import form_data, optional_int
from app.core.permissions import CurrentUser
from app.core.web import page
from app.leads import services
from app.leads.controllers import _redirect
from app.students.conversion import services as conversion

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


async def _confirm_page(
    request: Request, user: CurrentUser, lead_id: int, status_code: int = 200, problem: str = ""
) -> Response:
    plan = await conversion.plan_conversion(user, lead_id)
    return await page(
        request,
        "leads/convert.html",
        status_code=status_code,
        plan=plan,
        lead=plan.lead,
        problem=problem,
        statuses=services.STATUSES,
    )


class LeadConversionController(Controller):
    path = "/leads"
    include_in_schema = False

    @get("/{lead_id:int}/convert")
    async def confirm(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        """The confirm step: the student that will be created, or same-phone students to link to."""
        return await _confirm_page(request, user, lead_id)

    @post("/{lead_id:int}/convert")
    async def convert(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        data = await form_data(request)
        version = optional_int(data, "version")
        values = {"allow_duplicate": data.get("allow_duplicate") == "1"}
        if (student_id := optional_int(data, "student_id")) is not None:
            values["student_id"] = student_id
        try:
            await conversion.convert_lead(user, lead_id, values, version, ip=client_ip(request))
        except Conflict as exc:  # a same-phone student, or a stale page: show the step again, with why
            return await _confirm_page(request, user, lead_id, 409, exc.detail)
        return _redirect(request, f"/leads/{lead_id}")


class ConvertIn(msgspec.Struct):
    """Optional body of POST /api/v1/leads/{id}/convert."""

    version: DbInt | None = None  # or If-Match: W/"<version>"; stale: 409
    student_id: DbInt | None = None  # link to this existing student instead of creating one
    allow_duplicate: bool = False  # create a student even though one has the same phone


class Converted(msgspec.Struct):
    student_id: int
    lead_id: int
    linked: bool
    ticket_ids: list[int]


def _version(request: Request, version: int | None) -> int | None:
    """The lead's version the client saw: the `version` field, or the ETag in If-Match."""
    header = request.headers.get("if-match", "").strip()
    if header and header != "*":
        match = _ETAG.match(header)
        if not match:
            raise ValidationFailed.one("If-Match", 'Send the ETag you received, like W/"3".')
        if version is not None and version != int(match.group(1)):
            raise ValidationFailed.one("If-Match", "If-Match and version disagree.")
        version = int(match.group(1))
    return version


class LeadConversionApi(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @post("/{lead_id:int}/convert", status_code=201, responses=ERRORS)
    async def convert(
        self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[ConvertIn | None] = None
    ) -> Converted:
        """Convert the lead to a student: 201 `{"student_id", "lead_id", "linked", "ticket_ids"}`.

        Optional body: `version` (or `If-Match: W/"<version>"`; stale: 409), `student_id` to link to an
        existing student instead of creating one, `allow_duplicate: true` to create one even though a
        student has the same phone (otherwise 409 with `students`). 403 for people other than the
        lead's owner, supervisors and admins; 409 naming why for converted, merged, deleted or invalid leads.
        """
        body = data or ConvertIn()
        values = {"allow_duplicate": body.allow_duplicate, "student_id": body.student_id}
        result = await conversion.convert_lead(
            user, lead_id, values, _version(request, body.version), ip=client_ip(request)
        )
        return Converted(result.student_id, result.lead_id, result.linked, list(result.ticket_ids))
