"""Assignment jobs: thin wrappers over app.assignment.services, safe to run twice."""

from app.assignment import services
from app.core.i18n import N_, gettext

# The job of one new ticket also decides the others waiting at that moment (bursts).
BATCH = 50


async def assign_ticket(ctx: dict, ticket_id: int) -> dict | None:
    """The job of a new ticket's time window: decides that ticket and every other one waiting."""
    decisions = await services.assign_waiting(first=ticket_id, batch=BATCH)
    return decisions.get(ticket_id)


async def sweep_unassigned(ctx: dict) -> int:
    return await services.sweep_unassigned()


# Why an SLA escalation reassigns, as the timeline says it (in the school's language).
REASSIGN_REASONS = {"unclaimed": N_("nobody took it in time"), "breach": N_("a service-level target was missed")}


async def reassign_ticket(ctx: dict, ticket_id: int, reason: str, assignee: int | object | None = ...) -> dict | None:
    """After an SLA escalation: someone else who fits takes the ticket (or the timeline says why not).
    `assignee` is who had it at the escalation (absent in jobs queued by older versions)."""
    return await services.reassign_on_escalation(
        ticket_id, gettext(REASSIGN_REASONS.get(reason, reason)), escalated_from=assignee
    )
