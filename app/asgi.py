"""create_app: the one place that wires routes, middleware, plugins and lifecycle."""

from __future__ import annotations

import logging

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.accounts.admin_controllers import (
    CampusAdminController,
    StaffAdminController,
    TeamAdminController,
    admin_home,
)
from app.accounts.api import AuthApi
from app.accounts.controllers import AccountController, AuthController
from app.approvals.routes import HANDLERS as APPROVAL_ROUTES
from app.assignment.routes import HANDLERS as ASSIGNMENT_ROUTES
from app.automation.controllers import AutomationAdminController
from app.calendars.controllers import CalendarAdminController
from app.core.auth import PUBLIC_PREFIXES, AuthMiddleware, require_user
from app.core.deps import USER_DEPENDENCIES
from app.core.headers import SwaggerWithCsp, security_headers
from app.core.i18n import LocaleMiddleware
from app.core.jobs import close_pool
from app.core.redis import close_redis
from app.core.templates import environment
from app.core.web import exception_handlers, reject_nul_characters
from app.dashboard.controllers import dashboard
from app.health.routes import healthz
from app.jobs.api import JobApi
from app.leads.routes import HANDLERS as LEAD_ROUTES
from app.notifications import realtime as _notification_pushes  # noqa: F401 - registers renderers
from app.notifications.api import NotificationApi
from app.notifications.controllers import AnnouncementController, NotificationController
from app.notifications.outbox_controllers import NotificationPreferencesController, OutboxAdminController
from app.realtime.hub import hub
from app.realtime.routes import realtime_socket
from app.recycle.controllers import RecycleBinController
from app.settings import ROOT, get_settings
from app.sla.controllers import SlaAdminController, TicketSlaController
from app.students.routes import HANDLERS as STUDENT_ROUTES
from app.tickets.routes import HANDLERS as TICKET_ROUTES
from app.wiring import wire
from app.workbench.routes import HANDLERS as WORKBENCH_ROUTES


async def _startup() -> None:
    from piccolo_conf import DB

    if hasattr(DB, "start_connection_pool"):
        from piccolo.engine.postgres import PostgresEngine

        if isinstance(DB, PostgresEngine):
            await DB.start_connection_pool(min_size=2, max_size=20)
    await hub.start()


async def _shutdown() -> None:
    from piccolo_conf import DB

    await hub.stop()
    await close_pool()
    await close_redis()
    from piccolo.engine.postgres import PostgresEngine

    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()
    elif hasattr(DB, "close_pool"):  # app.core.sqlite_engine
        await DB.close_pool()


async def _keep_history_on_writes(message: dict, scope: dict) -> None:
    """htmx pushes the URL of every boosted request into history, POSTs included; a form that comes
    back with errors (or a page rendered straight from a POST) must not leave /leads/5/update in the
    address bar. A POST that redirects is unaffected: the browser follows it and htmx sees the GET."""
    if message["type"] != "http.response.start" or scope.get("method") in ("GET", "HEAD"):
        return
    request_headers = dict(scope.get("headers") or [])
    if b"hx-request" not in request_headers:
        return
    headers = list(message.get("headers") or [])
    if not any(name.lower() in (b"hx-push-url", b"hx-replace-url") for name, _ in headers):
        message["headers"] = [*headers, (b"hx-push-url", b"false")]


def create_app() -> Litestar:
    wire()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO if not settings.debug else logging.DEBUG)
    static = create_static_files_router(
        path="/static",
        directories=[ROOT / "static"],
        opt={"public": True},
        include_in_schema=False,
        send_as_attachment=False,
    )
    pages = [
        AuthController,
        AccountController,
        NotificationController,
        AnnouncementController,
        admin_home,
        StaffAdminController,
        TeamAdminController,
        CampusAdminController,
        OutboxAdminController,
        NotificationPreferencesController,
        CalendarAdminController,
        SlaAdminController,
        TicketSlaController,
        RecycleBinController,
        AutomationAdminController,
    ]
    api = Router(path="/", route_handlers=[AuthApi, NotificationApi, JobApi])
    application = Litestar(
        route_handlers=[
            dashboard,
            healthz,
            realtime_socket,
            static,
            api,
            *pages,
            *LEAD_ROUTES,
            *STUDENT_ROUTES,
            *TICKET_ROUTES,
            *WORKBENCH_ROUTES,
            *ASSIGNMENT_ROUTES,
            *APPROVAL_ROUTES,
        ],
        middleware=[
            DefineMiddleware(AuthMiddleware, exclude=[p.rstrip("/") for p in PUBLIC_PREFIXES]),
        ],
        csrf_config=CSRFConfig(
            secret=settings.auth.secret_key,
            exclude=["/api/", "/healthz", "/schema"],
            cookie_secure=settings.auth.cookie_secure,
            cookie_httponly=True,
        ),
        guards=[require_user],
        dependencies=USER_DEPENDENCIES,
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment)),
        exception_handlers=exception_handlers,
        openapi_config=OpenAPIConfig(
            title="Shuyuan API",
            version="1.0.0",
            path="/schema",
            description="REST API of Shuyuan. Obtain a token with POST /api/v1/auth/token and send "
            "it as `Authorization: Bearer <token>`. Errors: {detail, errors: [{field, message}]}.",
            render_plugins=[SwaggerWithCsp()],
        ),
        before_request=reject_nul_characters,
        before_send=[_keep_history_on_writes, security_headers],
        on_startup=[_startup],
        on_shutdown=[_shutdown],
        debug=settings.debug,
    )
    # Outside the router, not in `middleware=`: route middleware never runs for a URL that matches
    # no route, and its 404 page must speak the visitor's language too.
    application.asgi_handler = LocaleMiddleware(application.asgi_handler)
    return application


app = create_app()
