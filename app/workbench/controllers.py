"""我的待办 pages: the workbench and its one-click actions (claim, resolve, reply, mark a mention read)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Response

from app.core.deps import AuthUser
from app.core.errors import DomainError
from app.core.forms import form_data
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.core.web import page
from app.notifications.services import mark_read
from app.tickets import services, workflow
from app.workbench import services as workbench

BODY = "workbench/body.html"


async def _context(user, notice: str = "", error: str = "", **extra) -> dict:
    found = await workbench.sections(user)
    return {
        "sections": found,
        "counts": workbench.counts_of(found),
        "sections_meta": workbench.SECTIONS,
        "statuses": workflow.STATUSES,
        "priorities": workflow.PRIORITIES,
        "actions_for": workbench.row_actions,
        "notice": notice,
        "error": error,
        "notice_ticket": "",
        "reply_ticket": None,
        "reply_body": "",
        **extra,
    }


async def _answer(
    request: Request, user: CurrentUser, notice: str = "", error: str = "", status: int = 200, **extra
) -> Response:
    """htmx gets the re-rendered workbench body; a plain form post goes back to the page."""
    if not request.htmx:
        return Redirect("/workbench")
    context = await _context(user, notice, error, **extra)
    return HTMXTemplate(template_name=BODY, context={**context, "user": user}, status_code=status)


async def _run(request: Request, user: CurrentUser, action, notice: str, **error_extra) -> Response:
    try:
        ticket = await action()
    except DomainError as exc:
        if not request.htmx:
            raise  # a plain form post gets the error page, with the reason
        message = exc.errors[0].message if exc.errors else exc.detail
        return await _answer(request, user, error=message, status=exc.status_code, **error_extra)
    return await _answer(request, user, notice=notice, notice_ticket=ticket.get("number", "") if ticket else "")


class WorkbenchController(Controller):
    path = "/workbench"
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, user: AuthUser) -> Response:
        return await page(request, "workbench/index.html", **await _context(user))

    @get("/body")
    async def body(self, request: Request, user: AuthUser) -> Response:
        return await _answer(request, user)

    @post("/tickets/{ticket_id:int}/claim")
    async def claim(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        return await _run(request, user, lambda: services.claim_ticket(user, ticket_id), N_("You took %(number)s."))

    @post("/tickets/{ticket_id:int}/resolve")
    async def resolve(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        data = await form_data(request)
        version = int(data["version"]) if data.get("version", "").isdigit() else None
        return await _run(
            request,
            user,
            lambda: services.update_ticket(user, ticket_id, {"status": "resolved"}, version=version),
            N_("%(number)s is resolved."),
        )

    @post("/tickets/{ticket_id:int}/reply")
    async def reply(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        data = await form_data(request)
        internal = data.get("internal") in ("1", "on")
        body = data.get("body", "")
        return await _run(
            request,
            user,
            lambda: services.add_message(user, ticket_id, body, public=not internal),
            N_("Note added to %(number)s.") if internal else N_("Reply sent on %(number)s."),
            reply_ticket=ticket_id,
            reply_body=body,
        )

    @post("/mentions/{notification_id:int}/read")
    async def mention_read(self, request: Request, user: AuthUser, notification_id: FromPath[int]) -> Response:
        await mark_read(user, notification_id)
        return await _answer(request, user)
