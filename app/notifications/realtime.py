"""Live notification fragments: the bell count and a toast, pushed as out-of-band swaps."""

from __future__ import annotations

from app.core.events import Event
from app.core.templates import render_macro
from app.notifications.services import unread_count
from app.realtime.hub import Connection, on_event


async def bell_fragment(user_id: int) -> str:
    return render_macro("notifications/bell.html", "bell", unread_count=await unread_count(user_id), oob=True)


@on_event("notification.created")
async def push_new_notification(event: Event, conn: Connection) -> str:
    toast = render_macro("notifications/toast.html", "toast", notification=event.payload)
    return await bell_fragment(conn.user.id) + toast


@on_event("notification.read")
async def push_bell(event: Event, conn: Connection) -> str:
    return await bell_fragment(conn.user.id)
