"""Who sees and works tickets.

Service-desk roles see every ticket of their campus (admins and campus-less staff: all campuses).
Everyone else sees tickets they created, are assigned to or watch, and those of the people
they lead (the same team chain as for leads).
"""

from __future__ import annotations

from app.core.permissions import CurrentUser, visible_owner_ids
from tables.tickets.tables import Ticket, TicketWatcher

DESK_ROLES = ("admin", "supervisor", "customer_service", "academic_affairs")
TYPE_ADMINS = ("admin",)


def is_desk(user: CurrentUser) -> bool:
    return user.role in DESK_ROLES


async def visibility_filter(user: CurrentUser):
    """The WHERE clause every ticket query applies; None when the user sees every ticket."""
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return None
    if is_desk(user):
        return Ticket.campus.is_null() | (Ticket.campus == user.campus_id)
    people = sorted(await visible_owner_ids(user) or {user.id})
    watched = [r["ticket"] for r in await TicketWatcher.select(TicketWatcher.ticket).where(TicketWatcher.user == user.id)]
    clause = Ticket.assignee.is_in(people) | Ticket.created_by.is_in(people)
    if watched:
        clause |= Ticket.id.is_in(watched)
    return clause


async def can_view(user: CurrentUser, ticket: dict) -> bool:
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return True
    if is_desk(user):
        return ticket["campus"] in (None, user.campus_id)
    people = await visible_owner_ids(user) or {user.id}
    if ticket["assignee"] in people or ticket["created_by"] in people:
        return True
    return await TicketWatcher.exists().where((TicketWatcher.ticket == ticket["id"]) & (TicketWatcher.user == user.id))


def can_work(user: CurrentUser, ticket: dict) -> bool:
    """Change status, assign, edit fields: the desk, or whoever the ticket is assigned to."""
    return is_desk(user) or ticket["assignee"] == user.id
