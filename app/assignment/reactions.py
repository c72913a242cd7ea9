"""A new unassigned ticket is handed to the worker right after its creation commits."""

from __future__ import annotations

from app.core.db import UnitOfWork, reacts_to
from app.core.events import Event

COALESCE_MS = 250


@reacts_to("ticket.created")
async def assign_new_ticket(uow: UnitOfWork, event: Event) -> None:
    # Only the cheap test here; the job reads the type's mode (a manual type is a no-op there).
    if event.name == "ticket.created" and event.payload.get("assignee") is None:
        # One job per quarter second decides every ticket waiting by then: a burst of a thousand
        # tickets costs a few dozen jobs, not a thousand (app.core.jobs.enqueue, coalesce_ms).
        uow.enqueue("assign_ticket", event.payload["id"], job_id="assign", coalesce_ms=COALESCE_MS)
