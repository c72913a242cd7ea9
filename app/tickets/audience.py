"""Who may receive a ticket's events: the ticket visibility of app/tickets/policy.py, as an audience.

The desk of the ticket's campus (every desk when it has none; admins and campus-less desk staff
see every campus), its assignee and requester and the leaders above them, its watchers, and its
team's members and leaders (their workbench queue). A change also reaches whoever saw the
ticket before it (the previous assignee, campus and team), so their boards drop the card.
"""

from __future__ import annotations

from app.core.events import Audience, record_audience
from app.tickets.policy import DESK_ROLES
from tables.tickets.tables import Ticket, TicketWatcher


def desk_of(campus: int | None) -> Audience:
    return Audience.roles_at(DESK_ROLES, campus)


@record_audience("ticket")
async def ticket_viewers(ids: list[int]) -> Audience:
    rows = await Ticket.select(Ticket.campus, Ticket.assignee, Ticket.created_by, Ticket.team).where(
        Ticket.id.is_in(ids)
    )
    watchers = await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket.is_in(ids))
    found = Audience(
        users=tuple(w["user"] for w in watchers),
        teams=tuple(r["team"] for r in rows),
        owners=tuple(o for r in rows for o in (r["assignee"], r["created_by"])),
    )
    for campus in {r["campus"] for r in rows}:
        found |= desk_of(campus)
    return found


def of_ticket(ticket_id: int, before: dict | None = None) -> Audience:
    """Who may see the ticket now, and (given the row as it was) who could see it before the change."""
    audience = Audience.record("ticket", ticket_id)
    if before:
        audience |= Audience(owners=(before.get("assignee"),), teams=(before.get("team"),))
        if "campus" in before:
            audience |= desk_of(before["campus"])
    return audience
