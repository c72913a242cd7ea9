"""Approvals follow every ticket write, inside its transaction (registered with app.core.db.reacts_to).

- `ticket.created` of a type with an active workflow starts the approval at its first step.
- `ticket.updated` that moves a ticket to resolved or closed while its approval is running is refused:
  the ValidationFailed rolls the whole write back and names `status`.
- `ticket.updated` that changes the student or the campus re-resolves the current step's approvers.
"""

from __future__ import annotations

from app.approvals import services
from app.core.db import UnitOfWork, reacts_to
from app.core.events import Event
from app.tickets.workflow import DONE_STATUSES


@reacts_to("ticket.")
async def follow_tickets(uow: UnitOfWork, event: Event) -> None:
    payload = event.payload
    if event.name == "ticket.created" and payload.get("type"):
        await services.start_approval(uow, payload["id"], payload["type"])
    elif event.name == "ticket.updated":
        if payload.get("old_status") and payload.get("status") in DONE_STATUSES:
            await services.refuse_finishing_while_running(payload["id"])
        if {"student", "campus"} & set(payload.get("fields") or []):
            await services.follow_ticket_change(uow, payload["id"])
