"""Ticket pages: the list with filters and saved views, choosing a type, the create form."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

from app.core.clock import system_clock
from app.core.deps import AuthUser
from app.core.errors import NotFound, ValidationFailed
from app.core.pagination import PageRequest
from app.core.permissions import CurrentUser
from app.core.web import page
from app.tickets import attachments, pickers, queries, services
from app.tickets.attachments import REQUEST_LIMIT
from app.tickets.pages import context as page_context
from app.tickets.pages import forms as page_forms
from app.tickets.pages import saved_views
from app.tickets.types.fields import active_fields


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url, status_code=303)


async def _list_context(request: Request, user: CurrentUser) -> dict:
    params = request.query_params
    filters, errors = page_forms.parse_filters(params)
    result = await queries.list_tickets(user, filters, PageRequest.parse(params.get("limit"), params.get("offset")))
    page_forms.mark_overdue(result.items, system_clock.now())
    return {
        **page_context.LABELS,
        "page_data": result,
        "filters": filters,
        "filter_errors": errors,
        "pairs": page_forms.filter_pairs(filters),
        "query": page_forms.filter_query(filters),
        "filtered": page_forms.is_filtered(filters),
        "raw_dates": {name: params.get(name) or "" for name in ("created_from", "created_to")},
    }


async def _views_fragment(request: Request, user: CurrentUser, status_code: int = 200, **context) -> Response:
    views = await saved_views.list_views(user)
    context.setdefault("errors", {})
    context.setdefault("view_name", "")
    return await page(request, "tickets/saved_views.html", status_code=status_code, views=views, **context)


class TicketPages(Controller):
    path = "/tickets"
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, user: AuthUser) -> Response:
        context = await _list_context(request, user)
        status = 422 if context["filter_errors"] else 200
        if request.htmx and request.htmx.target == "ticket-results":
            response = await page(request, "tickets/results.html", status_code=status, **context)
            response.headers["HX-Push-Url"] = "/tickets" + (f"?{context['query']}" if context["query"] else "")
            return response
        options = await page_context.list_options(user)
        return await page(
            request, "tickets/index.html", status_code=status, errors={}, view_name="", **context, **options
        )

    @get("/new")
    async def choose_type(self, request: Request) -> Response:
        return await page(request, "tickets/new.html", types=await services.ticket_types())

    @get("/new/{code:str}")
    async def new(self, request: Request, user: AuthUser, code: FromPath[str]) -> Response:
        type_row = await services.type_by_code(code)
        if type_row is None or not type_row["is_active"]:
            raise NotFound("This ticket type does not exist.")
        values = {"priority": type_row["default_priority"], "channel": page_forms.DEFAULT_CHANNEL}
        context = await page_context.form_context(user, type_row, values)
        return await page(request, "tickets/form.html", values=values, errors={}, files_lost=False, **context)

    @post("/", request_max_body_size=REQUEST_LIMIT)
    async def create(self, request: Request, user: AuthUser) -> Response:
        form = await request.form()
        values = page_forms.form_values(form)
        type_row = await services.type_by_code(str(values.get("type", "")))
        if type_row is None or not type_row["is_active"]:
            raise NotFound("This ticket type does not exist.")
        names = [
            "files",
            *[f"fields.{f['key']}" for f in active_fields(type_row["fields"]) if f["type"] == "attachment"],
        ]
        uploads = await attachments.read_uploads(form, names)
        try:
            draft = page_forms.draft_from_form(values, type_row, uploads)
            ticket = await services.create_ticket(user, draft, uploads=uploads)
        except ValidationFailed as exc:
            context = await page_context.form_context(user, type_row, values)
            return await page(
                request,
                "tickets/form.html",
                status_code=exc.status_code,
                values=values,
                errors=exc.by_field(),
                files_lost=bool(uploads),
                **context,
            )
        return _redirect(request, f"/tickets/{ticket['id']}")

    @post("/views")
    async def save_view(self, request: Request, user: AuthUser) -> Response:
        form = await request.form()
        filters, _errors = page_forms.parse_filters(form)
        query = page_forms.filter_query(filters) if "q" in form else str(form.get("query") or "")
        name = str(form.get("view_name") or "")
        try:
            await saved_views.save_view(user, name, query)
        except ValidationFailed as exc:
            return await _views_fragment(
                request, user, exc.status_code, errors=exc.by_field(), view_name=name, query=query
            )
        if not request.htmx:
            return Redirect("/tickets" + (f"?{query}" if query else ""), status_code=303)
        return await _views_fragment(request, user, query=query)

    @post("/views/{view_id:int}/delete")
    async def delete_view(self, request: Request, user: AuthUser, view_id: FromPath[int]) -> Response:
        await saved_views.delete_view(user, view_id)
        if not request.htmx:
            return Redirect("/tickets", status_code=303)
        form = await request.form()
        return await _views_fragment(request, user, query=str(form.get("query") or ""))

    @get("/pickers/students")
    async def student_options(self, request: Request, user: AuthUser, q: FromQuery[str] = "") -> Response:
        options = await pickers.students(user, q[:50])
        return await page(request, "tickets/picker_options.html", options=options, blank=True)

    @get("/pickers/classes")
    async def class_options(self, request: Request, user: AuthUser, q: FromQuery[str] = "") -> Response:
        options = await pickers.classes(user, q[:50])
        return await page(request, "tickets/picker_options.html", options=options, blank=True)
