"""Pages: the public pool (/leads/pool), claim and release from a list or a lead page, and the lead
page's timeline panel with the follow-up form (loaded by htmx into leads/detail.html)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Response

from app.core import phones as core_phones
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import DomainError, ValidationFailed
from app.core.forms import form_data
from app.core.i18n import N_
from app.core.pagination import PageRequest
from app.core.permissions import CurrentUser
from app.core.web import page
from app.leads import phones, services
from app.leads.follow_ups import services as follow_ups
from app.leads.pool import services as pool

PANEL = "leads/follow_ups_panel.html"


def _fragment(user: CurrentUser, template: str, status_code: int = 200, **context) -> HTMXTemplate:
    context.setdefault("user", user)
    return HTMXTemplate(
        template_name=template, context=context, status_code=status_code, headers={"Vary": "HX-Request, HX-Target"}
    )


async def panel_context(
    user, lead_id: int, *, values: dict | None = None, errors: dict | None = None, notice: str = "", problem: str = ""
) -> dict:
    lead = await services.get_lead(user, lead_id)
    return {
        "lead": lead,
        "kinds": follow_ups.KINDS,
        "items": core_phones.present_changes(user, lead["owner"], await follow_ups.timeline(user, lead_id)),
        "outcomes": follow_ups.OUTCOMES,
        "values": values or {"kind": "phone"},
        "errors": errors or {},
        "can_claim": lead["owner"] is None and (await pool.quota(user))["limit"] != 0,
        "can_release": await pool.can_release(user, lead["owner"]),
        "notice": notice,
        "problem": problem,
        "field_labels": services.FIELD_LABELS,
        "statuses": services.STATUSES,
        "sources": services.SOURCES,
    }


class LeadPoolController(Controller):
    path = "/leads"
    include_in_schema = False

    @get("/pool")
    async def pool_page(
        self,
        request: Request,
        user: AuthUser,
        q: FromQuery[str] = "",
        city: FromQuery[str] = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        filters = pool.PoolFilter(q, city)
        result = await pool.list_pool(user, filters, PageRequest.parse(limit, offset))
        template = (
            "leads/pool_rows.html" if request.htmx and request.htmx.target == "pool-results" else "leads/pool.html"
        )
        return await page(
            request,
            template,
            page_data=result,
            filters=filters,
            quota=await pool.quota(user),
            statuses=services.STATUSES,
            sources=services.SOURCES,
        )

    @post("/{lead_id:int}/claim")
    async def claim(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        view = (await form_data(request)).get("view", "")
        problem = ""
        try:
            await pool.claim(user, lead_id, ip=client_ip(request))
        except DomainError as exc:
            if exc.status_code == 404 or not request.htmx:
                raise
            problem = exc.detail
        return await self._after_move(
            request, user, lead_id, view, problem, N_("Claimed: this lead is now in your list.")
        )

    @post("/{lead_id:int}/release")
    async def release(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        data = await form_data(request)
        problem = ""
        try:
            await pool.release(user, lead_id, reason=data.get("reason", ""), ip=client_ip(request))
        except DomainError as exc:
            if exc.status_code == 404 or not request.htmx:
                raise
            problem = exc.detail
        return await self._after_move(
            request, user, lead_id, data.get("view", ""), problem, N_("Released: the lead is back in the public pool.")
        )

    async def _after_move(
        self, request: Request, user: CurrentUser, lead_id: int, view: str, problem: str, done: str
    ) -> Response:
        status = 409 if problem else 200
        if not request.htmx:
            return Redirect(f"/leads/{lead_id}")
        if view == "row":
            row = phones.present_lead(user, await services.get_lead(user, lead_id))
            return _fragment(
                user,
                "leads/pool_row.html",
                status,
                lead=row,
                problem=problem,
                claimed=not problem,
                sources=services.SOURCES,
            )
        context = await panel_context(user, lead_id, notice="" if problem else done, problem=problem)
        return _fragment(user, PANEL, status, **context)

    @get("/{lead_id:int}/timeline")
    async def timeline(self, user: AuthUser, lead_id: FromPath[int]) -> Response:
        return _fragment(user, PANEL, **await panel_context(user, lead_id))

    @post("/{lead_id:int}/follow-ups")
    async def add_follow_up(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        data = await form_data(request)
        try:
            await follow_ups.add_follow_up(user, data, lead_id=lead_id, ip=client_ip(request))
        except ValidationFailed as exc:
            context = await panel_context(user, lead_id, values=data, errors=exc.by_field(), problem=exc.detail)
            return _fragment(user, PANEL, 422, **context)
        if not request.htmx:
            return Redirect(f"/leads/{lead_id}")
        return _fragment(user, PANEL, **await panel_context(user, lead_id, notice=N_("Follow-up saved.")))
