"""Link, merge and split pages and fragments.

The ticket page includes the relations panel with
`<div hx-get="/tickets/{id}/relations" hx-trigger="load" hx-target="this" hx-swap="outerHTML"></div>`
(or renders `tickets/relations.html` itself with `panel_context()`); the ticket list merges by
sending its checked rows as `ids` to `GET /tickets/merge`.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response

from app.core.deps import AuthUser
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.core.forms import form_data, int_list, parse_int
from app.core.permissions import CurrentUser
from app.core.web import page
from app.tickets import policy, workflow
from app.tickets.relations import services as relations
from app.tickets.services import get_ticket

PANEL = "tickets/relations.html"


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


def _ids(values: list[str]) -> list[int]:
    return int_list(values)


async def _panel(
    user: CurrentUser,
    ticket_id: int,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
    detail: str = "",
) -> Response:
    context = await panel_context(user, await get_ticket(user, ticket_id))
    context.update(errors=errors or {}, values=values or {}, detail=detail)
    return HTMXTemplate(template_name=PANEL, context=context, status_code=status)


async def panel_context(user, ticket: dict) -> dict:
    """Everything tickets/relations.html needs, for a page that includes the panel directly."""
    return {
        "ticket": ticket,
        "rel": await relations.ticket_relations(user, ticket),
        "errors": {},
        "values": {},
        "link_kinds": relations.LINK_KINDS,
        "statuses": workflow.STATUSES,
        "user": user,
        "can_work": policy.can_work(user, ticket),
        "detail": "",
    }


async def _panel_or_raise(
    request: Request, user: CurrentUser, ticket_id: int, exc: DomainError, values: dict | None = None
) -> Response:
    """htmx gets the panel again with the problem shown in it; a plain form post the error page."""
    if not request.htmx or isinstance(exc, NotFound):
        raise exc
    errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
    return await _panel(user, ticket_id, errors, values, status=exc.status_code, detail="" if errors else exc.detail)


async def _visible(user, ids: list[int]) -> list[dict]:
    found = []
    for ticket_id in dict.fromkeys(ids):
        try:
            found.append(await get_ticket(user, ticket_id))
        except NotFound:
            continue  # a ticket the user cannot see is not offered, and merge_tickets refuses it anyway
    return found


class RelationsController(Controller):
    path = "/tickets"
    include_in_schema = False

    @get("/{ticket_id:int}/relations")
    async def panel(self, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        return await _panel(user, ticket_id)

    @post("/{ticket_id:int}/link")
    async def link(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        data = await form_data(request)
        try:
            await relations.link_tickets(user, ticket_id, data.get("target", ""), data.get("kind", "related"))
        except DomainError as exc:
            return await _panel_or_raise(request, user, ticket_id, exc, data)
        return await _panel(user, ticket_id) if request.htmx else Redirect(f"/tickets/{ticket_id}")

    @post("/{ticket_id:int}/links/{link_id:int}/delete")
    async def unlink(
        self, request: Request, user: AuthUser, ticket_id: FromPath[int], link_id: FromPath[int]
    ) -> Response:
        try:
            await relations.unlink_tickets(user, ticket_id, link_id)
        except DomainError as exc:
            return await _panel_or_raise(request, user, ticket_id, exc)
        return await _panel(user, ticket_id) if request.htmx else Redirect(f"/tickets/{ticket_id}")

    @get("/merge")
    async def merge_form(self, request: Request, user: AuthUser, target: FromQuery[str] = "") -> Response:
        chosen = await _visible(user, _ids(request.query_params.getall("ids", [])))
        return await page(
            request,
            "relations/merge.html",
            chosen=chosen,
            values={"target": target},
            errors={},
            statuses=workflow.STATUSES,
        )

    @post("/merge")
    async def merge(self, request: Request, user: AuthUser) -> Response:
        form = await request.form()
        ids, target = _ids(form.getall("ids", [])), str(form.get("target") or "").strip()
        try:
            if not target:
                raise ValidationFailed.one("target", "Choose the ticket to keep.")
            target_id = (await relations.visible_ref(user, target))["id"]
            await relations.merge_tickets(user, target_id, [i for i in ids if i != target_id] or ids)
        except ValidationFailed as exc:
            return await page(
                request,
                "relations/merge.html",
                status_code=422,
                chosen=await _visible(user, ids),
                values={"target": target},
                errors=exc.by_field(),
                statuses=workflow.STATUSES,
            )
        return _redirect(request, f"/tickets/{target_id}")

    @get("/{ticket_id:int}/split")
    async def split_form(
        self, request: Request, user: AuthUser, ticket_id: FromPath[int], activity: FromQuery[str] = ""
    ) -> Response:
        ticket = await relations.workable(user, ticket_id)
        return await _split_page(request, ticket, {"activity": activity, "title": ""}, {})

    @post("/{ticket_id:int}/split")
    async def split(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        form = await request.form()
        values = {k: (form.getall(k) if len(form.getall(k)) > 1 else form.get(k)) for k in form if k != "_csrf_token"}
        fields = {k.removeprefix("fields."): v for k, v in values.items() if k.startswith("fields.")}
        activity = parse_int(str(values.get("activity") or ""))
        try:
            if activity is None:
                raise ValidationFailed.one("activity", "Choose a reply or note of this ticket.")
            child = await relations.split_ticket(user, ticket_id, activity, str(values.get("title") or ""), fields)
        except ValidationFailed as exc:
            ticket = await relations.workable(user, ticket_id)
            return await _split_page(request, ticket, values, exc.by_field(), status=422)
        return _redirect(request, f"/tickets/{child['id']}")


async def _split_page(request: Request, ticket: dict, values: dict, errors: dict, status: int = 200) -> Response:
    return await page(
        request,
        "relations/split.html",
        status_code=status,
        ticket=ticket,
        values=values,
        errors=errors,
        messages=await relations.split_candidates(ticket["id"]),
        missing=relations.missing_required(ticket),
    )
