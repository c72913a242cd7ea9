"""REST: the caller's notifications; announcements."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.api import ERRORS, to
from app.core.deps import AuthUser
from app.core.pagination import PageRequest
from app.notifications import services
from app.notifications.jobs import queue_delivery


class AnnouncementIn(msgspec.Struct):
    title: str
    body: str = ""
    audience: str = "all"  # all | role | team | campus
    audience_value: str = ""


class Created(msgspec.Struct):
    id: int


class NotificationOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(msgspec.Struct):
    items: list[NotificationOut]
    total: int
    limit: int
    offset: int


class Unread(msgspec.Struct):
    unread: int


class NotificationApi(Controller):
    path = "/api/v1"
    tags = ["notifications"]

    @get("/notifications", responses=ERRORS)
    async def list_notifications(
        self,
        user: AuthUser,
        limit: FromQuery[str | None] = None,
        offset: FromQuery[str | None] = None,
        unread: FromQuery[bool] = False,
    ) -> NotificationPage:
        result = await services.list_notifications(user, PageRequest.parse(limit, offset), unread)
        return NotificationPage(
            [to(NotificationOut, i) for i in result.items], result.total, result.limit, result.offset
        )

    @post("/notifications/{notification_id:int}/read", status_code=200, responses=ERRORS)
    async def read(self, user: AuthUser, notification_id: FromPath[int]) -> Unread:
        return Unread(await services.mark_read(user, notification_id))

    @post("/announcements", status_code=202, responses=ERRORS)
    async def announce(self, user: AuthUser, data: JSONBody[AnnouncementIn]) -> Created:
        """Send an announcement to everyone, a role, a team or a campus (admins and supervisors)."""
        announcement_id = await services.create_announcement(
            user,
            title=data.title,
            body=data.body,
            audience=data.audience,
            audience_value=data.audience_value,
        )
        await queue_delivery(announcement_id)
        return Created(announcement_id)
