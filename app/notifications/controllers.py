"""Notification centre and announcements (pages)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import ValidationFailed
from app.core.forms import form_data
from app.core.pagination import PageRequest
from app.core.web import page
from app.notifications import services
from app.notifications.jobs import queue_delivery
from tables.accounts.tables import Campus, Team


class NotificationController(Controller):
    path = "/notifications"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
        unread: FromQuery[str] = "",
    ) -> Response:
        result = await services.list_notifications(user, PageRequest.parse(limit, offset), unread_only=unread == "1")
        return await page(request, "notifications/index.html", page_data=result, unread_only=unread == "1")

    @post("/{notification_id:int}/read")
    async def read_one(self, request: Request, user: AuthUser, notification_id: FromPath[int]) -> Response:
        await services.mark_read(user, notification_id)
        result = await services.list_notifications(user, PageRequest())
        return await page(request, "notifications/index.html", page_data=result, unread_only=False)

    @post("/read-all")
    async def read_all(self, request: Request, user: AuthUser) -> Response:
        await services.mark_read(user)
        result = await services.list_notifications(user, PageRequest())
        return await page(request, "notifications/index.html", page_data=result, unread_only=False)


async def _announcement_context() -> dict:
    return {
        "recent": await services.recent_announcements(),
        "teams": await Team.select(Team.id, Team.name).order_by(Team.name),
        "campuses": await Campus.select(Campus.id, Campus.name).order_by(Campus.id),
    }


class AnnouncementController(Controller):
    path = "/announcements"
    guards = [require_roles(*services.ANNOUNCERS)]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(
            request,
            "notifications/announcements.html",
            values={},
            errors={},
            sent=False,
            **await _announcement_context(),
        )

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            announcement_id = await services.create_announcement(
                user,
                title=data.get("title", ""),
                body=data.get("body", ""),
                audience=data.get("audience", ""),
                audience_value=data.get("audience_value", ""),
            )
        except ValidationFailed as exc:
            return await page(
                request,
                "notifications/announcements.html",
                status_code=422,
                values=data,
                errors=exc.by_field(),
                sent=False,
                **await _announcement_context(),
            )
        await queue_delivery(announcement_id)
        return await page(
            request,
            "notifications/announcements.html",
            values={},
            errors={},
            sent=True,
            **await _announcement_context(),
        )
