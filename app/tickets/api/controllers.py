"""REST: /api/v1/ticket-types and /api/v1/tickets (a contract with outside clients).

Paths and field names here are promised to integrations: add, never rename. Writes go through
app.tickets.services (the single mutation path); a PATCH honours `If-Match: W/"<version>"` or a
`version` field and answers 409 when it is stale.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.api import ERRORS, to
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.pagination import PageRequest
from app.tickets import deletion, queries, services
from app.tickets.api import schemas as schema
from tables.tickets.tables import TicketType


class TicketTypeApi(Controller):
    path = "/api/v1/ticket-types"
    tags = ["tickets"]

    @get("/", responses=ERRORS)
    async def list_types(self) -> schema.TicketTypes:
        """Active ticket types with their active form fields (key, label, type, required, help, options)."""
        rows = await services.ticket_types(active_only=True)
        return schema.TicketTypes([to(schema.TicketTypeOut, schema.serialise_type(row)) for row in rows])


class TicketApi(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    @get("/", responses=ERRORS)
    async def list_tickets(
        self,
        user: AuthUser,
        status: FromQuery[list[str] | None] = None,
        type: FromQuery[str] = "",
        priority: FromQuery[str] = "",
        assignee: FromQuery[str] = "",
        campus: FromQuery[str] = "",
        tag: FromQuery[str] = "",
        q: FromQuery[str] = "",
        overdue: FromQuery[str] = "",
        created_from: FromQuery[str] = "",
        created_to: FromQuery[str] = "",
        limit: FromQuery[str | None] = None,
        offset: FromQuery[str | None] = None,
    ) -> schema.TicketPage:
        """Tickets the caller may see, newest first. `status` may repeat or be comma-separated;
        `assignee` is `me`, `none` or a user id."""
        type_exists = bool(type) and await TicketType.exists().where(TicketType.code == type)
        filters = schema.filters_from(
            status=status or [],
            type_code=type,
            priority=priority,
            assignee=assignee,
            campus=campus,
            tag=tag,
            q=q,
            overdue=overdue,
            created_from=created_from,
            created_to=created_to,
            type_exists=type_exists,
        )
        result = await queries.list_tickets(user, filters, PageRequest.parse(limit, offset))
        return schema.TicketPage(
            [to(schema.TicketSummary, schema.serialise(t)) for t in result.items],
            result.total,
            result.limit,
            result.offset,
        )

    @post("/", responses=ERRORS)
    async def create_ticket(self, user: AuthUser, data: JSONBody[schema.TicketIn]) -> Response[schema.TicketOut]:
        """Open a ticket: `type` by code, `title`, `fields` per the type's form; `channel` defaults to api."""
        draft = schema.draft_from(data)
        try:
            ticket = await services.create_ticket(user, draft)
        except ValidationFailed as exc:
            raise schema.api_field_names(exc) from None
        return Response(to(schema.TicketOut, schema.serialise(ticket)), status_code=201, headers=schema.etag(ticket))

    @get("/{ticket_id:int}", responses=ERRORS)
    async def get_ticket(self, user: AuthUser, ticket_id: FromPath[int]) -> Response[schema.TicketOut]:
        ticket = await services.get_ticket(user, ticket_id)
        from app.sla.services import api_summary  # SLA fields: first_response_due, resolution_due, sla_breached

        body = to(schema.TicketOut, {**schema.serialise(ticket), **await api_summary(ticket_id)})
        return Response(body, headers=schema.etag(ticket))

    @patch("/{ticket_id:int}", responses=ERRORS)
    async def update_ticket(
        self, request: Request, user: AuthUser, ticket_id: FromPath[int], data: JSONBody[schema.TicketPatch]
    ) -> Response[schema.TicketOut]:
        """Partial update. Send `If-Match` with the ETag you read (or a `version` field): a stale one is 409."""
        changes, body_version = schema.changes_from(data)
        version = schema.expected_version(request.headers.get("if-match"), body_version)
        try:
            ticket = await services.update_ticket(user, ticket_id, changes, version=version)
        except ValidationFailed as exc:
            raise schema.api_field_names(exc) from None
        except Conflict:
            raise schema.stale() from None
        return Response(to(schema.TicketOut, schema.serialise(ticket)), headers=schema.etag(ticket))

    @delete("/{ticket_id:int}", responses=ERRORS)
    async def delete_ticket(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> None:
        """Move the ticket to the recycle bin (the service desk only; restorable for 30 days at /recycle)."""
        await deletion.delete_ticket(user, ticket_id, ip=client_ip(request))

    @post("/{ticket_id:int}/messages", responses=ERRORS)
    async def add_message(
        self, user: AuthUser, ticket_id: FromPath[int], data: JSONBody[schema.MessageIn]
    ) -> Response[schema.ActivityOut]:
        """A reply to the requester (`public: true`) or an internal note (the default)."""
        written = await services.add_message(user, ticket_id, data.body, public=data.public)
        return Response(
            to(schema.ActivityOut, schema.serialise_activity(written.activity)),
            status_code=201,
            headers=schema.etag(written),
        )

    @get("/{ticket_id:int}/timeline", responses=ERRORS)
    async def timeline(self, user: AuthUser, ticket_id: FromPath[int]) -> schema.Timeline:
        """Every reply, note and change, oldest first."""
        await services.get_ticket(user, ticket_id)
        return schema.Timeline(
            [to(schema.ActivityOut, schema.serialise_activity(a)) for a in await queries.timeline(ticket_id)]
        )
