"""Reading tickets: filtered lists (pages, board, API) and a ticket's timeline."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from app.core.clock import Clock, system_clock
from app.core.forms import parse_int
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser
from app.tickets import policy, workflow
from app.tickets.services import LIST_COLUMNS, TicketFilter
from tables.tickets.tables import Ticket, TicketActivity, TicketTag, TicketType

CHINA = timezone(timedelta(hours=8))


async def where_clause(user: CurrentUser, filters: TicketFilter, clock: Clock = system_clock):
    where = Ticket.deleted_at.is_null() & Ticket.merged_into.is_null()
    visible = await policy.visibility_filter(user)
    if visible is not None:
        where &= visible
    statuses = [s for s in filters.status if s in workflow.STATUSES]
    if statuses:
        where &= Ticket.status.is_in(statuses)
    elif filters.open_only:
        where &= Ticket.status.is_in(list(workflow.OPEN_STATUSES))
    if filters.type:
        type_ids = [r["id"] for r in await TicketType.select(TicketType.id).where(TicketType.code == filters.type)]
        where &= Ticket.ticket_type.is_in(type_ids or [-1])
    if filters.priority in workflow.PRIORITIES:
        where &= Ticket.priority == filters.priority
    if filters.assignee == "me":
        where &= Ticket.assignee == user.id
    elif filters.assignee == "none":
        where &= Ticket.assignee.is_null()
    elif (assignee_id := parse_int(filters.assignee)) is not None:
        where &= Ticket.assignee == assignee_id
    if filters.campus:
        where &= Ticket.campus == filters.campus
    if filters.tag:
        tagged = [r["ticket"] for r in await TicketTag.select(TicketTag.ticket).where(TicketTag.tag == filters.tag)]
        where &= Ticket.id.is_in(tagged or [-1])
    if filters.overdue:
        where &= (
            Ticket.due_at.is_not_null()
            & (Ticket.due_at < clock.now())
            & Ticket.status.is_in(list(workflow.OPEN_STATUSES))
        )
    if filters.created_from:
        where &= Ticket.created_at >= datetime.combine(filters.created_from, time.min, CHINA)
    if filters.created_to:
        where &= Ticket.created_at < datetime.combine(filters.created_to + timedelta(days=1), time.min, CHINA)
    if filters.q:
        term = filters.q.strip().lower()
        where &= Ticket.search_text.like(f"%{term}%") | (Ticket.number == filters.q.strip().upper())
    return where


async def list_tickets(
    user: CurrentUser, filters: TicketFilter, page: PageRequest, clock: Clock = system_clock
) -> Page[dict]:
    return await fetch_page(Ticket, LIST_COLUMNS, await where_clause(user, filters, clock), page)


async def timeline(ticket_id: int, public_only: bool = False) -> list[dict]:
    where = TicketActivity.ticket == ticket_id
    if public_only:
        where &= TicketActivity.kind.is_in(["created", "reply", "status"])
    return await (
        TicketActivity.select(
            TicketActivity.id,
            TicketActivity.kind,
            TicketActivity.body,
            TicketActivity.is_public,
            TicketActivity.changes,
            TicketActivity.created_at,
            TicketActivity.actor,
            TicketActivity.actor.display_name.as_alias("actor_name"),
        )
        .where(where)
        .order_by(TicketActivity.id)
        .output(load_json=True)
    )
