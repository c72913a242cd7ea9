"""The outbox admin page (/admin/outbox) and the email/SMS preferences on the account page."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response

from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import ValidationFailed
from app.core.forms import form_data
from app.core.pagination import PageRequest
from app.core.permissions import CurrentUser
from app.core.web import page
from app.notifications import outbox, preferences

PREFERENCES = "notifications/_preferences.html"


async def _preferences_context(user_id: int) -> dict:
    return {
        "notification_prefs": await preferences.preferences_of(user_id),
        "contact": await preferences.contact_of(user_id),
    }


class NotificationPreferencesController(Controller):
    path = "/account/notifications"
    include_in_schema = False

    @get("/")
    async def show(self, request: Request, user: AuthUser) -> Response:
        """The preferences card (loaded into the account page by htmx), or a page of its own."""
        ctx = await _preferences_context(user.id)
        template = (
            PREFERENCES
            if request.htmx and request.htmx.target == "notification-prefs"
            else "notifications/preferences_page.html"
        )
        return await page(request, template, saved=False, errors={}, **ctx)

    @post("/")
    async def save(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            await preferences.save_preferences(user, preferences.ticked(data, "email"), preferences.ticked(data, "sms"))
        except ValidationFailed as exc:
            ctx = await _preferences_context(user.id)
            return await page(request, PREFERENCES, status_code=422, saved=False, errors=exc.by_field(), **ctx)
        if not request.htmx:
            return Redirect("/account")
        return await page(request, PREFERENCES, saved=True, errors={}, **await _preferences_context(user.id))


class OutboxAdminController(Controller):
    path = "/admin/outbox"
    guards = [require_roles(*outbox.OUTBOX_ADMINS)]
    include_in_schema = False

    async def _render(
        self,
        request: Request,
        user: CurrentUser,
        status: str,
        channel: str,
        limit: str = "",
        offset: str = "",
        notice: str = "",
    ) -> Response:
        status = status if status in outbox.STATUSES else ""
        channel = channel if channel in outbox.CHANNELS else ""
        result = await outbox.list_messages(user, PageRequest.parse(limit, offset), status=status, channel=channel)
        return await page(
            request,
            "notifications/outbox.html",
            page_data=result,
            filters={"status": status, "channel": channel},
            counts=await outbox.status_counts(user),
            statuses=outbox.STATUSES,
            channels=outbox.CHANNELS,
            max_attempts=outbox.MAX_ATTEMPTS,
            notice=notice,
        )

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        status: FromQuery[str] = "",
        channel: FromQuery[str] = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        return await self._render(request, user, status, channel, limit, offset)

    @post("/{message_id:int}/retry")
    async def retry(self, request: Request, user: AuthUser, message_id: FromPath[int]) -> Response:
        await outbox.retry_now(user, message_id)
        data = await form_data(request)
        if not request.htmx:
            return Redirect(f"/admin/outbox?status={data.get('status', '')}&channel={data.get('channel', '')}")
        return await self._render(request, user, data.get("status", ""), data.get("channel", ""), notice="retried")
