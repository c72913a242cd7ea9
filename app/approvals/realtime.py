"""Live workbench counts for approvers: `approval.changed` (audience = the previous and the new
approvers) re-renders #workbench-counts on their tabs that show the workbench."""

from __future__ import annotations

from app.core.events import Event
from app.realtime.hub import Connection, on_event
from app.tickets.workbench_realtime import counts_fragment


@on_event("approval.changed")
async def push_approval_counts(event: Event, conn: Connection) -> str | None:
    if conn.readonly or not conn.subscriptions.get("workbench"):
        return None
    return await counts_fragment(conn.user)
