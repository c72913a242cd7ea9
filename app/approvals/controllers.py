"""The approval panel on the ticket page and its decision form.

The ticket page loads the panel with `hx-get="/tickets/{id}/approval" hx-trigger="load"`; a decision
posts the panel's form and gets the panel back (with the problem shown in it when refused). A plain
form post (no htmx) is redirected to the ticket page, or answered with the error page.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Response

from app.approvals import approvers, queries, services
from app.core.deps import AuthUser
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.core.forms import form_data, int_field
from app.core.i18n import N_
from app.core.permissions import CurrentUser

PANEL = "approvals/panel.html"
LABELS = {"statuses": services.STATUSES, "decisions": services.DECISIONS, "kinds": approvers.KINDS}
DONE = {
    "approve": N_("Approved. The next step's approvers have been told."),
    "reject": N_("Rejected. The requester has been told."),
    "send_back": N_("Sent back."),
    "resubmit": N_("Resubmitted for approval."),
}


async def panel(user: CurrentUser, ticket_id: int, status: int = 200, **extra) -> Response:
    view = await queries.approval_view(user, ticket_id)
    context = {
        "ticket_id": ticket_id,
        "view": view,
        "labels": LABELS,
        "errors": {},
        "values": {},
        "detail": "",
        "notice": "",
        "user": user,
        **extra,
    }
    return HTMXTemplate(template_name=PANEL, context=context, status_code=status)


class ApprovalPanelController(Controller):
    path = "/tickets/{ticket_id:int}/approval"
    include_in_schema = False

    @get("/")
    async def show(self, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        return await panel(user, ticket_id)

    @post("/")
    async def decide(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        data = await form_data(request)
        decision = data.get("decision", "")
        try:
            await services.decide(
                user,
                ticket_id,
                decision,
                data.get("reason", ""),
                int_field(data, "version", "Reload the page and try again."),
            )
        except DomainError as exc:
            if not request.htmx or isinstance(exc, NotFound):
                raise
            errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
            return await panel(
                user,
                ticket_id,
                exc.status_code,
                errors=errors,
                values=data,
                detail="" if errors.keys() <= {"reason", "decision"} and errors else exc.detail,
            )
        if not request.htmx:
            return Redirect(f"/tickets/{ticket_id}", status_code=303)
        return await panel(user, ticket_id, notice=DONE.get(decision, ""))
