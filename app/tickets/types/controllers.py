"""Ticket type administration pages: list, create, edit, and the htmx field editor. Admins only."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response

from app.core import audit
from app.core.auth import client_ip, require_roles
from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import form_data, optional_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.core.web import page
from app.tickets import policy, workflow
from app.tickets.types import admin as types_admin
from app.tickets.types import fields as ticket_fields
from tables.accounts.tables import Team

EDITOR = "ticket_types/editor.html"
FORM = "ticket_types/form.html"
HISTORY_LABELS = {
    "name": N_("Type name"),
    "code": N_("Code"),
    "description": N_("Description"),
    "default_priority": N_("Default priority"),
    "team": N_("Team"),
    "public_intake": N_("Public intake form"),
    "is_active": N_("Enabled"),
    "field_order": N_("Field order"),
}


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


async def _context(type_row: dict | None, values: dict, rows: list[dict], errors: dict, detail: str = "") -> dict:
    return {
        "ticket_type": type_row,
        "values": values,
        "rows": rows,
        "errors": errors,
        "detail": detail,
        "saved": types_admin.saved_keys(type_row),
        "archived": types_admin.archived_fields(type_row, rows),
        "field_types": ticket_fields.FIELD_TYPES,
        "choice_types": ticket_fields.CHOICE_TYPES,
        "priorities": workflow.PRIORITIES,
        "stamp": types_admin.stamp(type_row),
        "teams": await Team.select(Team.id, Team.name, Team.campus.name.as_alias("campus_name")).order_by(Team.id),
        "entries": await audit.history("ticket_type", type_row["id"]) if type_row else [],
        "history_labels": {
            **HISTORY_LABELS,
            **{f"fields.{f['key']}": f"{f['label']} ({f['key']})" for f in (type_row or {}).get("fields", [])},
        },
    }


async def _type_from_form(data: dict) -> dict | None:
    type_id = optional_int(data, "type_id")
    return await types_admin.get_type(type_id) if type_id is not None else None


class TicketTypeAdminController(Controller):
    path = "/admin/ticket-types"
    guards = [require_roles(*policy.TYPE_ADMINS)]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(request, "ticket_types/index.html", types=await types_admin.list_types())

    @get("/new")
    async def new(self, request: Request) -> Response:
        values = {"default_priority": "normal", "public_intake": True, "is_active": True}
        return await page(request, FORM, **await _context(None, values, [types_admin.blank_row()], {}))

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        return await self._save(request, user, None)

    @get("/{type_id:int}")
    async def edit(self, request: Request, type_id: FromPath[int]) -> Response:
        type_row = await types_admin.get_type(type_id)
        rows = ticket_fields.active_fields(type_row["fields"])
        return await page(request, FORM, **await _context(type_row, type_row, rows, {}))

    @post("/{type_id:int}")
    async def update(self, request: Request, user: AuthUser, type_id: FromPath[int]) -> Response:
        return await self._save(request, user, type_id)

    @post("/editor")
    async def editor(self, request: Request, user: AuthUser) -> Response:
        """Add, remove, move or restore a field row: answers the re-rendered editor (and preview)."""
        types_admin.require_type_admin(user)
        data = await form_data(request)
        type_row = await _type_from_form(data)
        rows = types_admin.apply_op(types_admin.parse_rows(data), data.get("op", ""), type_row)
        context = await _context(type_row, data, rows, {})
        if request.htmx:
            return HTMXTemplate(template_name=EDITOR, context={**context, "preview_oob": True})
        return await page(request, FORM, **context)

    @post("/preview")
    async def preview(self, request: Request) -> Response:
        data = await form_data(request)
        rows = [r for r in types_admin.parse_rows(data) if r["key"] or r["label"]]
        return HTMXTemplate(
            template_name="ticket_types/preview.html",
            context={"rows": rows, "preview_oob": False, "choice_types": ticket_fields.CHOICE_TYPES},
        )

    async def _save(self, request: Request, user: CurrentUser, type_id: int | None) -> Response:
        data = await form_data(request)
        rows = types_admin.parse_rows(data)
        try:
            saved = await types_admin.save_type(
                user, type_id, data, rows, updated_at=data.get("updated_at", ""), ip=client_ip(request)
            )
        except (ValidationFailed, Conflict) as exc:
            type_row = await types_admin.get_type(type_id) if type_id is not None else None
            errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
            status = 422 if isinstance(exc, ValidationFailed) else 409
            context = await _context(type_row, data, rows, errors, detail=exc.detail)
            return await page(request, FORM, status_code=status, **context)
        return _redirect(request, f"/admin/ticket-types/{saved['id']}?saved=1")
