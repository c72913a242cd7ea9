"""SLA clocks follow every ticket write inside its transaction (registered with app.core.db.reacts_to).

`ticket.created` snapshots the type's policies; every ticket event recomputes the ticket's dues from
its history, so no write path needs to know about SLAs.
"""

from __future__ import annotations

from app.core.db import UnitOfWork, reacts_to
from app.core.events import Event
from app.sla.services import recompute

TICKET_EVENTS = ("ticket.created", "ticket.updated", "ticket.message")


@reacts_to("ticket.")
async def follow_tickets(uow: UnitOfWork, event: Event) -> None:
    ticket_id = event.payload.get("id")
    if event.name not in TICKET_EVENTS or not isinstance(ticket_id, int):
        return
    if event.payload.get("fields") in (["sla"], ["automation"]):
        return  # the scan's or an automation log's own event (only the timeline changed): the dues are unchanged
    if event.name == "ticket.message" and event.payload.get("public") is False:
        return  # an internal note answers nobody and moves no status: no clock changes
    # One write may emit several events for one ticket (a requester reply that resumes it): once is enough.
    done: set[int] = uow.__dict__.setdefault("_sla_recomputed", set())
    if ticket_id in done:
        return
    done.add(ticket_id)
    await recompute(ticket_id, created=event.name == "ticket.created", uow=uow)
