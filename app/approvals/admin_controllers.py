"""/admin/approvals: the approval workflow of each ticket type (ordered steps, approver, SLA). Admins only."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response

from app.approvals import approvers, workflows
from app.core import audit
from app.core.auth import client_ip, require_roles
from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import form_data, optional_int
from app.core.permissions import ROLES
from app.core.web import page
from tables.accounts.tables import User

FORM = "approvals/admin_form.html"
EDITOR = "approvals/_step_rows.html"


async def _context(
    type_id: int, values: dict, rows: list[dict] | None = None, errors: dict | None = None, detail: str = ""
) -> dict:
    type_row, flow, saved_rows = await workflows.editor_state(type_id)
    staff = await User.select(User.id, User.display_name, User.role).where(User.is_active.eq(True)).order_by(User.id)
    return {
        "ticket_type": type_row,
        "workflow": flow,
        "rows": saved_rows if rows is None else rows,
        "values": values,
        "errors": errors or {},
        "detail": detail,
        "kinds": approvers.KINDS,
        "roles": ROLES,
        "staff": staff,
        "max_steps": workflows.MAX_STEPS,
        "entries": await audit.history("approval_workflow", flow["id"]) if flow else [],
    }


def _flow_values(flow: dict | None) -> dict:
    return {"is_active": "1" if flow is None or flow["is_active"] else "", "version": flow["version"] if flow else ""}


class ApprovalAdminController(Controller):
    path = "/admin/approvals"
    guards = [require_roles("admin")]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(request, "approvals/admin_index.html", types=await workflows.list_workflows())

    @get("/{type_id:int}")
    async def edit(self, request: Request, type_id: FromPath[int]) -> Response:
        _type, flow, _rows = await workflows.editor_state(type_id)
        return await page(request, FORM, **await _context(type_id, _flow_values(flow)))

    @post("/{type_id:int}/editor")
    async def editor(self, request: Request, user: AuthUser, type_id: FromPath[int]) -> Response:
        """Add, remove or move a step: answers the re-rendered step list (nothing is saved yet)."""
        workflows.require_admin(user)
        data = await form_data(request)
        rows = workflows.apply_op(workflows.parse_rows(data), data.get("op", ""))
        context = await _context(type_id, data, rows)
        if request.htmx:
            return HTMXTemplate(template_name=EDITOR, context=context)
        return await page(request, FORM, **context)

    @post("/{type_id:int}")
    async def save(self, request: Request, user: AuthUser, type_id: FromPath[int]) -> Response:
        data = await form_data(request)
        rows = workflows.parse_rows(data)
        try:
            await workflows.save_workflow(
                user,
                type_id,
                active=data.get("is_active") == "1",
                rows=rows,
                version=optional_int(data, "version"),
                ip=client_ip(request),
            )
        except (ValidationFailed, Conflict) as exc:
            errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
            context = await _context(type_id, data, rows, errors, exc.detail)
            return await page(request, FORM, status_code=exc.status_code, **context)
        url = f"/admin/approvals/{type_id}?saved=1"
        return ClientRedirect(url) if request.htmx else Redirect(url)
