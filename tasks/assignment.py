"""Assignment jobs: thin wrappers over app.assignment.services, safe to run twice."""

from app.assignment import services

# The job of one new ticket also decides the others waiting at that moment (bursts).
BATCH = 50


async def assign_ticket(ctx: dict, ticket_id: int) -> dict | None:
    return await services.assign_ticket(ticket_id, batch=BATCH)


async def sweep_unassigned(ctx: dict) -> int:
    return await services.sweep_unassigned()
