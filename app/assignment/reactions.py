"""A new unassigned ticket is handed to the worker right after its creation commits."""

from __future__ import annotations

from app.core.db import UnitOfWork, reacts_to
from app.core.events import Event


@reacts_to("ticket.created")
async def assign_new_ticket(uow: UnitOfWork, event: Event) -> None:
    # Only the cheap test here; the job reads the type's mode (a manual type is a no-op there).
    if event.name == "ticket.created" and event.payload.get("assignee") is None:
        ticket_id = event.payload["id"]
        uow.enqueue("assign_ticket", ticket_id, job_id=f"assign:{ticket_id}")
