"""Shared web plumbing: page rendering (full or partial), error responses for pages and API."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
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

from app.core.errors import DomainError, FieldError, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext as _

log = logging.getLogger(__name__)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# The bell's count on every full page; the notifications domain registers it (app/wiring.py).
_unread_counter: Callable[[int], Awaitable[int]] | None = None


def use_unread_counter(counter: Callable[[int], Awaitable[int]]) -> None:
    global _unread_counter
    _unread_counter = counter


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
        context["unread_count"] = await _unread_counter(context["user"].id) if _unread_counter else 0
    context.setdefault("unread_count", 0)
    return HTMXTemplate(
        template_name=template,
        context=context,
        status_code=status_code,
        headers={"Vary": "HX-Request, HX-Target, HX-History-Restore-Request"},
    )


def error_body(detail: str, errors: list[FieldError] | list[dict] | None = None) -> dict:
    items = []
    for e in errors or []:
        items.append(e.as_dict(_) if isinstance(e, FieldError) else e)
    return {"detail": _(detail), "errors": items}


# msgspec's decoding errors (a Struct body, a typed query parameter), as our own translatable messages.
_MSGSPEC_PATH = re.compile(r" - at `\$\.(?:data\.)?([A-Za-z_][\w-]*)")
_NAMED = re.compile(r"field `([^`]+)`")
_EXPECTED = [
    (re.compile(r"^Expected `(int|null \| int|int \| null)` (>=|<=|>|<)"), N_("Number out of range.")),
    (re.compile(r"^Expected `(int \| null|null \| int)`"), N_("Must be an integer or null.")),
    (re.compile(r"^Expected `int`"), N_("Must be an integer.")),
    (re.compile(r"^Expected `(bool|bool \| null|null \| bool)`"), N_("Must be true or false.")),
    (re.compile(r"^Expected `object"), N_("Send a JSON object.")),
    (re.compile(r"^Expected `array"), N_("Send a list.")),
    (re.compile(r"^Expected `(str|str \| null|null \| str)`"), N_("Must be text.")),
    (re.compile(r"^Invalid enum value"), N_("Choose one of the listed options.")),
    (re.compile(r"^Object contains unknown field"), N_("Unknown field.")),
    (re.compile(r"^Object missing required field"), N_("This field is required.")),
]


def _decoding_message(raw: str) -> str:
    for pattern, message in _EXPECTED:
        if pattern.search(raw):
            return message
    return N_("Invalid value.")


def _litestar_field_errors(exc: ValidationException) -> tuple[int, list[dict]]:
    """Field errors of a request Litestar could not decode, and the status: 422 when a body field has the
    wrong type, an unknown value or an unknown name; 400 when the body as a whole is wrong (not an
    object, a required field missing) or a query parameter is."""
    cause = str(exc.__cause__ or "")
    in_path = _MSGSPEC_PATH.search(cause)
    items, status = [], 400
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        raw = str(item.get("message", ""))
        field = str(item.get("key") or item.get("source") or "body")
        whole_body = field == "data"
        if whole_body:  # the body as a whole: name the field the message is about, if any
            named = _NAMED.search(raw)
            field = named.group(1) if named else "body"
        elif item.get("source") == "body" and in_path:
            field = in_path.group(1)
        if item.get("source") == "body" and (not whole_body or raw.startswith("Object contains unknown field")):
            status = 422
        items.append({"field": field, "message": _(_decoding_message(raw))})
    return status, items


_OUT_OF_RANGE = re.compile(r"out of int\d+ range")


def _out_of_range_id(exc: Exception) -> bool:
    """An integer too large for its column reached the database (an id in the path): no such record can
    exist. SQLite's driver raises OverflowError past 64 bits; asyncpg a DataError past the column's 32 or
    64 bits ("value out of int32 range")."""
    if isinstance(exc, OverflowError):
        return True
    return type(exc).__name__ == "DataError" and bool(_OUT_OF_RANGE.search(str(exc)))


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


async def reject_nul_characters(request: Request) -> None:
    """A NUL character in a query parameter or a JSON body: 422 naming the field, on both databases
    (PostgreSQL cannot store it in text at all; SQLite would). Runs before the handler decodes anything."""
    fields = sorted({key for key, value in request.query_params.multi_items() if _holds_nul(key) or _holds_nul(value)})
    if "json" in request.headers.get("content-type", "") and request.method in ("POST", "PUT", "PATCH"):
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - malformed JSON: the handler's decoding names it
            body = None
        if isinstance(body, dict):
            fields += sorted(str(k) for k, v in body.items() if _holds_nul(k) or _holds_nul(v))
        elif _holds_nul(body):
            fields.append("body")
    if fields:
        raise ValidationFailed(
            [FieldError(f.replace("\x00", "\\0"), N_("Text may not contain the NUL character.")) for f in fields]
        )


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
        status, errors = _litestar_field_errors(exc)
        detail = N_("The request is malformed.") if status == 400 else N_("Please correct the highlighted fields.")
    elif _out_of_range_id(exc):
        status, detail, errors = 404, MESSAGES[404], []
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
