"""/admin/sla: the policy matrix (ticket type × priority), the edit form, the paused statuses (admins only);
and the ticket page's "Service level" card."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response

from app.core.auth import require_roles
from app.core.clock import system_clock
from app.core.deps import AuthUser
from app.core.errors import NotFound, ValidationFailed
from app.core.forms import form_data
from app.core.i18n import gettext
from app.core.web import page
from app.sla import policies
from app.sla import services as sla_services
from app.tickets import services as ticket_services
from app.tickets import workflow
from tables.sla.tables import SlaPolicy
from tables.tickets.tables import TicketType

INDEX = "sla/index.html"
FORM = "sla/form.html"


def minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    if minutes % 60 == 0:
        return gettext("%(n)s h", n=minutes // 60)
    if minutes > 60:
        return gettext("%(h)s h %(m)s min", h=minutes // 60, m=minutes % 60)
    return gettext("%(n)s min", n=minutes)


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


async def _index_context(errors: dict | None = None, paused: list[str] | None = None) -> dict:
    return {
        "matrix": await policies.policy_matrix(),
        "priorities": workflow.PRIORITIES,
        "minutes_text": minutes_text,
        "statuses": {k: workflow.STATUSES[k] for k in workflow.OPEN_STATUSES},
        "paused": paused if paused is not None else await policies.paused_statuses(),
        "errors": errors or {},
    }


async def _form_context(type_id: int, priority: str, values: dict | None = None, errors: dict | None = None) -> dict:
    ticket_type = (
        await TicketType.select(TicketType.id, TicketType.name, TicketType.code).where(TicketType.id == type_id).first()
    )
    if ticket_type is None or priority not in workflow.PRIORITIES:
        raise NotFound("This policy does not exist.")
    versions = (
        await SlaPolicy.select(*SlaPolicy.all_columns(), SlaPolicy.created_by.display_name.as_alias("author"))
        .where((SlaPolicy.ticket_type == type_id) & (SlaPolicy.priority == priority))
        .order_by(SlaPolicy.version, ascending=False)
    )
    current = next((v for v in versions if v["is_active"]), None)
    return {
        "ticket_type": ticket_type,
        "priority": priority,
        "priority_label": workflow.PRIORITIES[priority],
        "values": values if values is not None else (current or {}),
        "errors": errors or {},
        "versions": versions,
        "current": current,
        "minutes_text": minutes_text,
    }


class SlaAdminController(Controller):
    path = "/admin/sla"
    guards = [require_roles("admin")]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(request, INDEX, **await _index_context())

    @post("/paused")
    async def save_paused(self, request: Request, user: AuthUser) -> Response:
        form = await request.form()
        chosen = [s for s in form.getall("paused_statuses", []) if isinstance(s, str)]
        try:
            await policies.save_paused_statuses(user, chosen)
        except ValidationFailed as exc:
            return await page(request, INDEX, status_code=422, **await _index_context(exc.by_field(), chosen))
        return _redirect(request, "/admin/sla?saved=paused")

    @get("/{type_id:int}/{priority:str}")
    async def edit(self, request: Request, type_id: FromPath[int], priority: FromPath[str]) -> Response:
        return await page(request, FORM, **await _form_context(type_id, priority))

    @post("/{type_id:int}/{priority:str}")
    async def save(self, request: Request, user: AuthUser, type_id: FromPath[int], priority: FromPath[str]) -> Response:
        data = await form_data(request)
        context = await _form_context(type_id, priority)  # 404 before validating an unknown policy
        try:
            await policies.save_policy(user, type_id, priority, data)
        except ValidationFailed as exc:
            return await page(request, FORM, status_code=422, **{**context, "values": data, "errors": exc.by_field()})
        return _redirect(request, f"/admin/sla?saved={type_id}-{priority}#type-{type_id}")


def span_text(delta: timedelta) -> str:
    """A duration as the card shows it: "2 d 3 h", "1 h 20 min", "5 min"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(d)s d %(h)s h", d=days, h=hours)
    if hours:
        return gettext("%(h)s h %(m)s min", h=hours, m=mins)
    return gettext("%(n)s min", n=mins)


class TicketSlaController(Controller):
    """The ticket page's "Service level" card, loaded by the placeholder in components/sla/ticket_sla.html."""

    path = "/tickets/{ticket_id:int}/sla"
    include_in_schema = False

    @get("/")
    async def card(self, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        ticket = await ticket_services.get_ticket(user, ticket_id)
        view = await sla_services.ticket_sla_view(ticket, system_clock.now())
        return HTMXTemplate(
            template_name="sla/_ticket_sla.html",
            context={
                "ticket": ticket,
                "sla": view,
                "span": span_text,
                "minutes": lambda m: minutes_text(round(m)) if m is not None else "—",
            },
        )
