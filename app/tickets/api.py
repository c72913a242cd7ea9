"""REST: /api/v1/ticket-types and /api/v1/tickets (a contract with outside clients).

Paths and field names here are promised to integrations: add, never rename. Writes go through
app.tickets.services (the single mutation path); a PATCH honours `If-Match: W/"<version>"` or a
`version` field and answers 409 when it is stale.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.pagination import PageRequest
from app.tickets import api_schemas as schema
from app.tickets import deletion, queries, services
from tables.tickets.tables import TicketActivity, TicketType


class TicketTypeApi(Controller):
    path = "/api/v1/ticket-types"
    tags = ["tickets"]

    @get("/")
    async def list_types(self) -> dict:
        """Active ticket types with their active form fields (key, label, type, required, help, options)."""
        return {"items": [schema.serialise_type(row) for row in await services.ticket_types(active_only=True)]}


class TicketApi(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    @get("/")
    async def list_tickets(
        self, user: AuthUser, status: FromQuery[list[str] | None] = None, type: FromQuery[str] = "",
        priority: FromQuery[str] = "", assignee: FromQuery[str] = "", campus: FromQuery[str] = "",
        tag: FromQuery[str] = "", q: FromQuery[str] = "", overdue: FromQuery[str] = "",
        created_from: FromQuery[str] = "", created_to: FromQuery[str] = "",
        limit: FromQuery[str | None] = None, offset: FromQuery[str | None] = None,
    ) -> dict:  # fmt: skip
        """Tickets the caller may see, newest first. `status` may repeat or be comma-separated;
        `assignee` is `me`, `none` or a user id."""
        type_exists = bool(type) and await TicketType.exists().where(TicketType.code == type)
        filters = schema.filters_from(
            status=status or [], type_code=type, priority=priority, assignee=assignee, campus=campus, tag=tag, q=q,
            overdue=overdue, created_from=created_from, created_to=created_to, type_exists=type_exists,
        )  # fmt: skip
        result = await queries.list_tickets(user, filters, PageRequest.parse(limit, offset))
        return {"items": [schema.serialise(t) for t in result.items], "total": result.total,
                "limit": result.limit, "offset": result.offset}  # fmt: skip

    @post("/")
    async def create_ticket(self, user: AuthUser, data: JSONBody[dict]) -> Response:
        """Open a ticket: `type` by code, `title`, `fields` per the type's form; `channel` defaults to api."""
        draft = schema.draft_from(data)
        try:
            ticket = await services.create_ticket(user, draft)
        except ValidationFailed as exc:
            raise schema.api_field_names(exc) from None
        return Response(schema.serialise(ticket), status_code=201, headers=schema.etag(ticket))

    @get("/{ticket_id:int}")
    async def get_ticket(self, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        ticket = await services.get_ticket(user, ticket_id)
        from app.sla.services import api_summary  # SLA fields: first_response_due, resolution_due, sla_breached

        return Response({**schema.serialise(ticket), **await api_summary(ticket_id)}, headers=schema.etag(ticket))

    @patch("/{ticket_id:int}")
    async def update_ticket(self, request: Request, user: AuthUser, ticket_id: FromPath[int], data: JSONBody[dict]) -> Response:
        """Partial update. Send `If-Match` with the ETag you read (or a `version` field): a stale one is 409."""
        changes, body_version = schema.changes_from(data)
        version = schema.expected_version(request.headers.get("if-match"), body_version)
        try:
            ticket = await services.update_ticket(user, ticket_id, changes, version=version)
        except ValidationFailed as exc:
            raise schema.api_field_names(exc) from None
        except Conflict:
            raise schema.stale() from None
        return Response(schema.serialise(ticket), headers=schema.etag(ticket))

    @delete("/{ticket_id:int}")
    async def delete_ticket(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> None:
        """Move the ticket to the recycle bin (the service desk only; restorable for 30 days at /recycle)."""
        await deletion.delete_ticket(user, ticket_id, ip=client_ip(request))

    @post("/{ticket_id:int}/messages")
    async def add_message(self, user: AuthUser, ticket_id: FromPath[int], data: JSONBody[dict]) -> Response:
        """A reply to the requester (`public: true`) or an internal note (the default)."""
        body, public = _message_body(data)
        ticket = await services.add_message(user, ticket_id, body, public=public)
        latest = await (
            TicketActivity.select(*_ACTIVITY_COLUMNS)
            .where(
                (TicketActivity.ticket == ticket_id)
                & (TicketActivity.actor == user.id)
                & TicketActivity.kind.is_in(["reply", "note"])
            )  # fmt: skip
            .order_by(TicketActivity.id, ascending=False)
            .first()
            .output(load_json=True)
        )
        return Response(schema.serialise_activity(latest), status_code=201, headers=schema.etag(ticket))

    @get("/{ticket_id:int}/timeline")
    async def timeline(self, user: AuthUser, ticket_id: FromPath[int]) -> dict:
        """Every reply, note and change, oldest first."""
        await services.get_ticket(user, ticket_id)
        return {"items": [schema.serialise_activity(a) for a in await queries.timeline(ticket_id)]}


_ACTIVITY_COLUMNS = (
    TicketActivity.id, TicketActivity.kind, TicketActivity.body, TicketActivity.is_public, TicketActivity.changes,
    TicketActivity.created_at, TicketActivity.actor, TicketActivity.actor.display_name.as_alias("actor_name"),
)  # fmt: skip


def _message_body(data) -> tuple[str, bool]:
    if not isinstance(data, dict):
        raise ValidationFailed.one("body", "Send a JSON object.")
    body, public = data.get("body"), data.get("public", False)
    if not isinstance(body, str):
        raise ValidationFailed.one("body", "Write something first.")
    if not isinstance(public, bool):
        raise ValidationFailed.one("public", "Use true or false.")
    return body, public
