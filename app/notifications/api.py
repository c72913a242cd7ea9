"""REST: the caller's notifications; announcements."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.deps import AuthUser
from app.core.pagination import PageRequest
from app.notifications import services
from app.notifications.jobs import queue_delivery


@dataclass
class AnnouncementIn:
    title: str
    body: str = ""
    audience: str = "all"
    audience_value: str = ""


class NotificationApi(Controller):
    path = "/api/v1"
    tags = ["notifications"]

    @get("/notifications")
    async def list_notifications(
        self, user: AuthUser, limit: FromQuery[str | None] = None, offset: FromQuery[str | None] = None,
        unread: FromQuery[bool] = False,
    ) -> dict:
        result = await services.list_notifications(user, PageRequest.parse(limit, offset), unread)
        return {"items": result.items, "total": result.total, "limit": result.limit, "offset": result.offset}

    @post("/notifications/{notification_id:int}/read", status_code=200)
    async def read(self, user: AuthUser, notification_id: FromPath[int]) -> dict:
        unread = await services.mark_read(user, notification_id)
        return {"unread": unread}

    @post("/announcements", status_code=202)
    async def announce(self, user: AuthUser, data: JSONBody[AnnouncementIn]) -> dict:
        """Send an announcement to everyone, a role, a team or a campus (admins and supervisors)."""
        announcement_id = await services.create_announcement(
            user,
            title=data.title,
            body=data.body,
            audience=data.audience,
            audience_value=data.audience_value,
        )
        await queue_delivery(announcement_id)
        return {"id": announcement_id}
