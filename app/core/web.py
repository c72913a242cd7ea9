"""Shared web plumbing: page rendering (full or partial), error responses for pages and API."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.core.errors import DomainError, FieldError
from app.core.i18n import N_
from app.core.i18n import gettext as _

log = logging.getLogger(__name__)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def is_partial(request: Request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target == "main" and not htmx.history_restore_request


async def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """Render a full page, or only its main region when htmx navigates (hx-target=#main)."""
    partial = is_partial(request)
    context.setdefault("user", request.scope.get("user"))
    context["is_partial"] = partial
    htmx = getattr(request, "htmx", None)
    full_layout = not htmx or htmx.history_restore_request
    if full_layout and context["user"] is not None and "unread_count" not in context:
        from app.notifications.services import unread_count

        context["unread_count"] = await unread_count(context["user"].id)
    context.setdefault("unread_count", 0)
    return HTMXTemplate(
        template_name=template, context=context, status_code=status_code, headers={"Vary": "HX-Request, HX-Target, HX-History-Restore-Request"}
    )


def error_body(detail: str, errors: list[FieldError] | list[dict] | None = None) -> dict:
    items = []
    for e in errors or []:
        items.append(e.as_dict(_) if isinstance(e, FieldError) else e)
    return {"detail": _(detail), "errors": items}


_MISSING_FIELD = re.compile(r"field `([^`]+)`")


def _litestar_field_errors(exc: ValidationException) -> list[dict]:
    items = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            field = str(item.get("key") or item.get("source") or "body")
            if field == "data":  # the body as a whole: name the field the message is about
                named = _MISSING_FIELD.search(message)
                field = named.group(1) if named else "body"
            items.append({"field": field, "message": message})
    return items


TITLES = {
    400: N_("Bad request"),
    401: N_("Please log in"),
    403: N_("No permission"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}

MESSAGES = {
    403: N_("You do not have permission to see or change this."),
    404: N_("The page or record does not exist, or you cannot see it."),
    500: N_("An unexpected error happened. It has been logged; please try again."),
}


def _error_page(request: Request, status: int, detail: str) -> Response:
    # Exception handlers are synchronous, so no database here: the bell's count arrives over /ws.
    context = {
        "user": request.scope.get("user"),
        "is_partial": is_partial(request),
        "unread_count": 0,
        "status": status,
        "title": _(TITLES.get(status, "Error")),
        "message": _(detail),
    }
    return HTMXTemplate(template_name="errors/page.html", context=context, status_code=status)


def handle_exception(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DomainError):
        status, detail, errors = exc.status_code, exc.detail, exc.errors
    elif isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        status, detail = 400, "The request body is not valid JSON."
        errors = [{"field": "body", "message": _("The request body is not valid JSON.")}]
    elif isinstance(exc, ValidationException):
        status, detail, errors = 400, N_("The request is malformed."), _litestar_field_errors(exc)
    elif isinstance(exc, HTTPException):
        status, errors = exc.status_code, []
        # Litestar fills an empty detail with the English status phrase ("Method Not Allowed"),
        # which no catalogue translates: show our own title for the status instead.
        generic = not exc.detail or exc.detail in {s.phrase for s in HTTPStatus if s.value == status}
        detail = MESSAGES.get(status) or (TITLES.get(status) if generic else None) or exc.detail or "Error"
        if isinstance(exc, NotAuthorizedException):
            detail = N_("Authentication required.")
        elif isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
            detail = N_("Your form expired. Reload the page and try again.")
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        status, detail, errors = HTTP_500_INTERNAL_SERVER_ERROR, MESSAGES[500], []

    if is_api(request):
        body = error_body(detail, errors)
        if isinstance(exc, DomainError):
            body.update(exc.body_extra(_))
        return Response(body, status_code=status, media_type=MediaType.JSON)
    if status == 401:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = f"/login?{urlencode({'next': path}, safe='/')}"
        if getattr(request, "htmx", None):
            return ClientRedirect(redirect_to=target)
        return Redirect(path=target)
    return _error_page(request, status, detail)


exception_handlers = {Exception: handle_exception}
