"""Public pages (no login): /submit forms, /track/<token> for the requester, /csat rating links.

They render the bare layout (user=None) even for a logged-in visitor: this is what parents see.
"""

from __future__ import annotations

import hmac

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect

from app.core.auth import client_ip
from app.core.errors import DomainError, NotFound, Throttled, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.web import is_partial, page
from app.tickets import workflow
from app.tickets.intake import csat
from app.tickets.intake import services as intake

PUBLIC = {"public": True}


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url, status_code=303)


def _public_error(request: Request, exc: DomainError) -> Response:
    """A missing form or link, or too many submissions: a page for the public, not the staff one."""
    titles = {404: N_("Link not found"), 429: N_("Please wait a moment")}
    title = _(titles.get(exc.status_code, "Error"))
    context = {
        "user": None,
        "is_partial": is_partial(request),
        "unread_count": 0,
        "title": title,
        "message": _(exc.detail),
        "status": exc.status_code,
    }
    return HTMXTemplate(template_name="intake/message.html", context=context, status_code=exc.status_code)


PUBLIC_ERRORS = {NotFound: _public_error, Throttled: _public_error}


def submission_from(type_row: dict, form: FormMultiDict) -> intake.Submission:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    fields: dict = {}
    for field in intake.public_fields(type_row):
        name = f"fields.{field['key']}"
        if field["type"] == "multi_select":
            fields[field["key"]] = [v for v in form.getall(name, []) if isinstance(v, str)]
        else:
            fields[field["key"]] = text(name)
    described = {f["key"]: text(f"about.{f['key']}") for f in intake.described_fields(type_row)}
    return intake.Submission(
        title=text("title"),
        description=text("description"),
        requester_name=text("requester_name"),
        requester_phone=text("requester_phone"),
        requester_email=text("requester_email"),
        requester_kind=text("requester_kind") or "guardian",
        student_name=text("student_name"),
        fields=fields,
        described=described,
        honeypot=text(intake.HONEYPOT),
    )


def _form_values(sub: intake.Submission) -> dict:
    values = {k: v for k, v in vars(sub).items() if isinstance(v, str)}
    values.update({f"fields.{k}": v for k, v in (sub.fields or {}).items()})
    values.update({f"about.{k}": v for k, v in (sub.described or {}).items()})
    return values


async def _form_page(request: Request, type_row: dict, values: dict, errors: dict, status: int = 200) -> Response:
    return await page(
        request,
        "intake/form.html",
        status_code=status,
        user=None,
        type=type_row,
        values=values,
        errors=errors,
        fields=intake.public_fields(type_row),
        described=intake.described_fields(type_row),
        honeypot=intake.HONEYPOT,
    )


class IntakeController(Controller):
    path = "/submit"
    include_in_schema = False
    opt = PUBLIC
    exception_handlers = PUBLIC_ERRORS

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(request, "intake/index.html", user=None, types=await intake.public_types())

    @get("/{code:str}")
    async def form(self, request: Request, code: FromPath[str]) -> Response:
        return await _form_page(request, await intake.public_type(code), {"requester_kind": "guardian"}, {})

    @post("/{code:str}")
    async def submit(self, request: Request, code: FromPath[str]) -> Response:
        type_row = await intake.public_type(code)
        sub = submission_from(type_row, await request.form())
        try:
            ticket = await intake.submit(type_row, sub, client_ip(request))
        except ValidationFailed as exc:
            return await _form_page(request, type_row, _form_values(sub), exc.by_field(), status=422)
        if ticket is None:  # the honeypot: look like success, store nothing
            return _redirect(request, f"/submit/{code}/thanks")
        return _redirect(request, f"/track/{ticket['tracking_token']}?received=1")

    @get("/{code:str}/thanks")
    async def thanks(self, request: Request, code: FromPath[str]) -> Response:
        return await page(
            request,
            "intake/message.html",
            user=None,
            status=200,
            title=_("Thank you"),
            message=_("We have received your request and will contact you soon."),
        )


async def _track_page(
    request: Request, ticket: dict, errors: dict | None = None, status: int = 200, **extra
) -> Response:
    link = csat.rating_link(ticket) if csat.can_rate(ticket) else None
    return await page(
        request,
        "intake/track.html",
        status_code=status,
        user=None,
        ticket=ticket,
        errors=errors or {},
        entries=await intake.public_timeline(ticket["id"]),
        values=intake.shown_values(ticket),
        statuses=workflow.STATUSES,
        rating_link=link,
        tracking_url=f"{str(request.base_url).rstrip('/')}/track/{ticket['tracking_token']}",
        **extra,
    )


class TrackController(Controller):
    path = "/track"
    include_in_schema = False
    opt = PUBLIC
    exception_handlers = PUBLIC_ERRORS

    @get("/{token:str}")
    async def show(
        self, request: Request, token: FromPath[str], received: FromQuery[str] = "", rated: FromQuery[str] = ""
    ) -> Response:
        ticket = await intake.ticket_by_token(token)
        return await _track_page(request, ticket, received=received == "1", rated=rated == "1", reply="")

    @post("/{token:str}/reply")
    async def reply(self, request: Request, token: FromPath[str]) -> Response:
        form = await request.form()
        body = form.get("body", "")
        try:
            await intake.add_requester_reply(token, body if isinstance(body, str) else "", client_ip(request))
        except ValidationFailed as exc:
            ticket = await intake.ticket_by_token(token)
            return await _track_page(request, ticket, exc.by_field(), 422, received=False, rated=False, reply=body)
        return _redirect(request, f"/track/{token}#conversation")


class CsatController(Controller):
    path = "/csat"
    include_in_schema = False
    opt = PUBLIC
    exception_handlers = PUBLIC_ERRORS

    @get("/{ticket_id:int}/{signature:str}")
    async def show(self, request: Request, ticket_id: FromPath[int], signature: FromPath[str]) -> Response:
        ticket = await csat.ticket_for_link(ticket_id, signature)
        return await page(
            request,
            "intake/csat.html",
            user=None,
            ticket=ticket,
            errors={},
            token="",
            values={"score": ticket["csat_score"] or "", "comment": ticket["csat_comment"]},
            action=request.url.path,
            can_rate=csat.can_rate(ticket),
        )

    @post("/{ticket_id:int}/{signature:str}")
    async def rate(self, request: Request, ticket_id: FromPath[int], signature: FromPath[str]) -> Response:
        form = await request.form()
        values = {k: form.get(k, "") for k in ("score", "comment", "token")}
        try:
            result = await csat.rate(ticket_id, signature, values["score"], values["comment"])
        except ValidationFailed as exc:
            ticket = await csat.ticket_for_link(ticket_id, signature)
            return await page(
                request,
                "intake/csat.html",
                status_code=422,
                user=None,
                ticket=ticket,
                errors=exc.by_field(),
                values=values,
                token=values["token"],
                action=request.url.path,
                can_rate=csat.can_rate(ticket),
            )
        token = str(values["token"] or "")
        if token and hmac.compare_digest(token, result["tracking_token"]):
            return _redirect(request, f"/track/{token}?rated=1")
        message = (
            _("We are sorry it did not go well. Your request has been reopened and a supervisor will look at it.")
            if result["reopened"]
            else _("Thank you for your rating.")
        )
        return await page(request, "intake/message.html", user=None, status=200, title=_("Thank you"), message=message)
