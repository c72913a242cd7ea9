"""One ticket's page and its forms: status, properties, claim, watch, fields, replies, files.

Every write answers htmx with the page re-rendered from the database (its `version` fresh); a
refused write re-renders it with the reason and what the user typed, so nothing is lost.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import File, Redirect, Response

from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.i18n import gettext as _
from app.core.permissions import CurrentUser
from app.core.web import page
from app.tickets import attachments, services
from app.tickets.attachments import REQUEST_LIMIT
from app.tickets.pages import actions as page_actions
from app.tickets.pages import context as page_context
from app.tickets.pages import forms as page_forms
from app.tickets.types.fields import active_fields


async def _show(request: Request, user: CurrentUser, ticket_id: int, status_code: int = 200, **extra) -> Response:
    context = await page_context.detail_context(user, ticket_id)
    typed_fields = (extra.get("typed") or {}).get("fields")
    if typed_fields and context["pickers"]:
        context["pickers"] = await page_context.picker_options(user, context["editable_fields"], typed_fields)
    context.update(extra)
    return await page(request, "tickets/detail.html", status_code=status_code, **context)


async def _done(request: Request, user: CurrentUser, ticket_id: int, notice: str) -> Response:
    if not request.htmx:
        return Redirect(f"/tickets/{ticket_id}", status_code=303)
    return await _show(request, user, ticket_id, notice=notice)


async def _refused(
    request: Request,
    user: CurrentUser,
    ticket_id: int,
    exc: Conflict | ValidationFailed,
    form: str,
    typed: dict | None = None,
) -> Response:
    """Re-render the page with the reason; `form` names the form whose fields the errors belong to."""
    errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
    alert = _(exc.detail)
    if isinstance(exc, ValidationFailed) and len(errors) == 1 and next(iter(errors)) in ("status", "version"):
        alert = _(next(iter(errors.values())))  # no inline spot for these: say it at the top
    return await _show(
        request,
        user,
        ticket_id,
        exc.status_code,
        errors=errors,
        alert=alert,
        error_form=form,
        typed={form: typed} if typed is not None else {},
        conflict=isinstance(exc, Conflict),
    )


class TicketDetailPages(Controller):
    path = "/tickets/{ticket_id:int}"
    include_in_schema = False

    @get("/")
    async def detail(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        return await _show(request, user, ticket_id)

    @post("/update")
    async def update(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        values = page_forms.form_values(await request.form())
        changes = page_forms.property_changes(values)
        try:
            version = page_forms.form_version(values)
            await services.update_ticket(user, ticket_id, changes, version=version)
        except (Conflict, ValidationFailed) as exc:
            return await _refused(request, user, ticket_id, exc, "props", values)
        return await _done(request, user, ticket_id, _("Status changed.") if "status" in changes else _("Saved."))

    @post("/claim")
    async def claim(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        try:
            await services.claim_ticket(user, ticket_id)
        except Conflict as exc:
            return await _refused(request, user, ticket_id, exc, "claim")
        return await _done(request, user, ticket_id, _("The ticket is yours now."))

    @post("/watch")
    async def watch(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        values = page_forms.form_values(await request.form())
        watching = await services.set_watching(user, ticket_id, values.get("watching") == "1")
        return await _done(
            request,
            user,
            ticket_id,
            _("You are watching this ticket.") if watching else _("You no longer watch this ticket."),
        )

    @post("/fields", request_max_body_size=REQUEST_LIMIT)
    async def edit_fields(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        form = await request.form()
        values = page_forms.form_values(form)
        ticket = await services.get_ticket(user, ticket_id)
        names = [f"fields.{f['key']}" for f in active_fields(ticket["type_fields"]) if f["type"] == "attachment"]
        try:
            version = page_forms.form_version(values)
            uploads = await attachments.read_uploads(form, names)
            await page_actions.edit_fields(user, ticket_id, values, uploads, version)
        except (Conflict, ValidationFailed) as exc:
            return await _refused(request, user, ticket_id, exc, "fields", values)
        return await _done(request, user, ticket_id, _("Saved."))

    @post("/messages", request_max_body_size=REQUEST_LIMIT)
    async def message(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        form = await request.form()
        values = page_forms.form_values(form)
        internal = values.get("internal") == "1"
        try:
            version = page_forms.form_version(values)
            uploads = await attachments.read_uploads(form, ["files"])
            await services.add_message(
                user, ticket_id, str(values.get("body", "")), public=not internal, version=version, uploads=uploads
            )
        except (Conflict, ValidationFailed) as exc:
            return await _refused(request, user, ticket_id, exc, "reply", values)
        return await _done(request, user, ticket_id, _("Internal note added.") if internal else _("Reply sent."))

    @post("/attachments", request_max_body_size=REQUEST_LIMIT)
    async def upload(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        form = await request.form()
        values = page_forms.form_values(form)
        try:
            version = page_forms.form_version(values)
            uploads = await attachments.read_uploads(form, ["files"])
            await page_actions.upload(user, ticket_id, uploads, version)
        except (Conflict, ValidationFailed) as exc:
            return await _refused(request, user, ticket_id, exc, "upload")
        return await _done(request, user, ticket_id, _("Files uploaded."))

    @get("/attachments/{attachment_id:int}")
    async def download(self, user: AuthUser, ticket_id: FromPath[int], attachment_id: FromPath[int]) -> File:
        row, path = await attachments.open_attachment(user, ticket_id, attachment_id)
        return File(
            path=path,
            filename=row["filename"],
            media_type=row["content_type"],
            content_disposition_type="attachment",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )
