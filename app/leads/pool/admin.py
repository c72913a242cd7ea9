"""/admin/lead-pool: claim limits per role, reclaim rules, distribution rules. Admins only (the guard
refuses others; the services check again)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import ValidationFailed
from app.core.forms import form_data, optional_int
from app.core.jobs import enqueue
from app.core.permissions import ROLES
from app.core.web import page
from app.leads.pool import distribution as pool_distribution
from app.leads.pool import settings as pool_settings

TEMPLATE = "leads/pool_admin.html"


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


async def _context(
    *,
    errors: dict | None = None,
    values: dict | None = None,
    rule_errors: dict | None = None,
    rule_values: dict | None = None,
    done: str = "",
) -> dict:
    settings = await pool_settings.load()
    return {
        "settings": settings,
        "rules": await pool_settings.rules(),
        "roles": ROLES,
        "limited_roles": pool_settings.LIMITED_ROLES,
        "matches": pool_settings.MATCHES,
        "methods": pool_settings.METHODS,
        "errors": errors or {},
        "values": values or {},
        "rule_errors": rule_errors or {},
        "rule_values": rule_values or {"match": "region", "method": "least_load"},
        "done": done,
        **await pool_settings.people_for_rules(),
    }


class LeadPoolAdminController(Controller):
    path = "/admin/lead-pool"
    guards = [require_roles("admin")]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, done: FromQuery[str] = "") -> Response:
        return await page(request, TEMPLATE, **await _context(done=done))

    @post("/settings")
    async def save_settings(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        version = optional_int(data, "version")
        try:
            await pool_settings.save(user, data, version=version)
        except ValidationFailed as exc:
            return await page(request, TEMPLATE, status_code=422, **await _context(errors=exc.by_field(), values=data))
        return _redirect(request, "/admin/lead-pool?done=saved")

    @post("/rules")
    async def add_rule(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            await pool_settings.add_rule(user, data)
        except ValidationFailed as exc:
            context = await _context(rule_errors=exc.by_field(), rule_values=data)
            return await page(request, TEMPLATE, status_code=422, **context)
        return _redirect(request, "/admin/lead-pool?done=rule#rules")

    @post("/rules/{rule_id:int}/delete")
    async def delete_rule(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        await pool_settings.delete_rule(user, rule_id)
        return _redirect(request, "/admin/lead-pool#rules")

    @post("/rules/{rule_id:int}/move")
    async def move_rule(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        data = await form_data(request)
        await pool_settings.move_rule(user, rule_id, data.get("direction", ""))
        return _redirect(request, "/admin/lead-pool#rules")

    @post("/reclaim")
    async def run_reclaim(self, request: Request, user: AuthUser) -> Response:
        """Queue the daily reclaim pass now (it is safe to run at any time)."""
        pool_settings.require_admin(user)
        await enqueue("reclaim_leads")
        return _redirect(request, "/admin/lead-pool?done=reclaim")

    @post("/distribute")
    async def distribute(self, request: Request, user: AuthUser) -> Response:
        moved = await pool_distribution.distribute_whole_pool(user)
        return _redirect(request, f"/admin/lead-pool?done=distributed-{moved}")
