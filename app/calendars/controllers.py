"""Business calendar administration: list, edit weekly hours, special days, a due-time check. Admins only."""

from __future__ import annotations

import re

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response

from app.accounts.staff import require_admin
from app.calendars import defaults, services
from app.calendars.hours import NeverOpenError
from app.core import audit
from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import form_data
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.core.web import page
from tables.accounts.tables import Campus

FORM = "calendars/form.html"
HISTORY_LABELS = {
    "name": N_("Calendar name"),
    "timezone": N_("Time zone"),
    "campus": N_("Campus"),
    "weekly": N_("Weekly hours"),
}
COMMON_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "America/New_York",
    "UTC",
)
_SHIFT = re.compile(r"^\s*(\S+?)\s*[-–~至]\s*(\S+)\s*$")


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


def weekly_from_form(data: dict) -> list[list[list[str]]]:
    """Fields d{day}_closed and d{day}_s{n}_start / _end (n < 4); a pair left empty is no shift."""
    weekly = []
    for day in range(7):
        shifts = []
        if data.get(f"d{day}_closed") != "1":
            for n in range(services.MAX_SHIFTS):
                start, end = data.get(f"d{day}_s{n}_start", "").strip(), data.get(f"d{day}_s{n}_end", "").strip()
                if start or end:
                    shifts.append([start, end])
        weekly.append(shifts)
    return weekly


def shifts_from_text(text: str) -> list[list[str]]:
    """'08:30-12:00, 13:00-20:30' → [['08:30', '12:00'], ['13:00', '20:30']]; malformed parts are
    kept as [part, ''] so that validation names the field."""
    shifts = []
    for part in re.split(r"[,，;；\s]+(?=\d)", text.strip()):
        if not part.strip():
            continue
        match = _SHIFT.match(part)
        shifts.append([match.group(1), match.group(2)] if match else [part, ""])
    return shifts


def _weekly_rows(weekly) -> list[dict]:
    """Per weekday: label, closed flag and four (start, end) pairs as 'HH:MM' text for the form."""
    rows = []
    for day, label in enumerate(services.WEEKDAYS):
        shifts = weekly[day] if weekly and day < len(weekly) else []
        pairs = [
            [
                services.format_minute(s) if isinstance(s, int) else s,
                services.format_minute(e) if isinstance(e, int) else e,
            ]
            for s, e in shifts
        ]
        pairs += [["", ""]] * (services.MAX_SHIFTS - len(pairs))
        used = [n for n, (start, end) in enumerate(pairs) if start or end]
        shown = min(services.MAX_SHIFTS, (used[-1] + 2) if used else 1)  # the filled ones and one blank
        rows.append(
            {"day": day, "label": label, "closed": not shifts, "pairs": pairs[: services.MAX_SHIFTS], "shown": shown}
        )
    return rows


def _readable(entries: list[dict]) -> list[dict]:
    """Weekly hours in the audit trail as text rather than nested minute lists."""
    for entry in entries:
        pair = (entry.get("changes") or {}).get("weekly")
        if pair:
            entry["changes"]["weekly"] = [
                None if side is None else " / ".join(services.format_shifts(day) or "—" for day in side)
                for side in pair
            ]
    return entries


async def _context(calendar: dict | None, values: dict, errors: dict, detail: str = "", **extra) -> dict:
    """Everything form.html and its components need; `extra` may override day_values, day_errors,
    saved, check (the widget's result) and check_values."""
    context = {
        "calendar": calendar,
        "values": values,
        "errors": errors,
        "detail": detail,
        "weekly_rows": _weekly_rows(values.get("weekly")),
        "campuses": await Campus.select(Campus.id, Campus.name).order_by(Campus.id),
        "zones": COMMON_ZONES,
        "kinds": services.KINDS,
        "format_shifts": services.format_shifts,
        "entries": _readable(await audit.history(services.ENTITY, calendar["id"])) if calendar else [],
        "history_labels": HISTORY_LABELS,
        "day_values": {"kind": "holiday"},
        "day_errors": {},
        "saved": "",
        "check": None,
        "check_values": {},
    }
    return {**context, **extra}


class CalendarAdminController(Controller):
    path = "/admin/calendars"
    guards = [require_roles("admin")]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(
            request, "calendars/index.html", calendars=await services.list_calendars(), weekdays=services.WEEKDAYS
        )

    @get("/new")
    async def new(self, request: Request) -> Response:
        values = {"timezone": "Asia/Shanghai", "weekly": [defaults.DEFAULT_SHIFTS] * 6 + [[]], "campus": ""}
        return await page(request, FORM, **await _context(None, values, {}))

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        return await self._save(request, user, None)

    @get("/{calendar_id:int}")
    async def edit(self, request: Request, calendar_id: FromPath[int], saved: FromQuery[str] = "") -> Response:
        calendar = await services.get_calendar(calendar_id)
        return await page(request, FORM, **await _context(calendar, calendar, {}, saved=saved))

    @post("/{calendar_id:int}")
    async def update(self, request: Request, user: AuthUser, calendar_id: FromPath[int]) -> Response:
        return await self._save(request, user, calendar_id)

    async def _save(self, request: Request, user: CurrentUser, calendar_id: int | None) -> Response:
        data = await form_data(request)
        values = {**data, "weekly": weekly_from_form(data)}
        try:
            saved = await services.save_calendar(user, values, calendar_id)
        except (ValidationFailed, Conflict) as exc:
            calendar = await services.get_calendar(calendar_id) if calendar_id is not None else None
            errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
            status = 422 if isinstance(exc, ValidationFailed) else 409
            return await page(request, FORM, status_code=status, **await _context(calendar, values, errors, exc.detail))
        return _redirect(request, f"/admin/calendars/{saved}?saved=1")

    @post("/{calendar_id:int}/days")
    async def add_days(self, request: Request, user: AuthUser, calendar_id: FromPath[int]) -> Response:
        data = await form_data(request)
        values = {**data, "shifts": shifts_from_text(data.get("shifts", ""))}
        try:
            await services.add_special_days(user, calendar_id, values)
        except ValidationFailed as exc:
            calendar = await services.get_calendar(calendar_id)
            context = await _context(calendar, calendar, {}, day_values=data, day_errors=exc.by_field())
            return await page(request, FORM, status_code=422, **context)
        return _redirect(request, f"/admin/calendars/{calendar_id}?saved=days#special-days")

    @post("/{calendar_id:int}/days/{day_id:int}/delete")
    async def remove_day(
        self, request: Request, user: AuthUser, calendar_id: FromPath[int], day_id: FromPath[int]
    ) -> Response:
        await services.remove_special_day(user, calendar_id, day_id)
        return _redirect(request, f"/admin/calendars/{calendar_id}?saved=days#special-days")

    @get("/{calendar_id:int}/check")
    async def check(
        self,
        request: Request,
        user: AuthUser,
        calendar_id: FromPath[int],
        at: FromQuery[str] = "",
        hours: FromQuery[str] = "",
    ) -> Response:
        """The 'from … + N business hours → due at …' widget (htmx fragment)."""
        require_admin(user)
        context: dict = {"errors": {}, "result": None, "never": False}
        status = 200
        try:
            context["result"] = await services.preview_due(calendar_id, at, hours)
        except ValidationFailed as exc:
            context["errors"], status = exc.by_field(), 422
        except NeverOpenError:
            context["never"] = True
        if request.htmx:
            return HTMXTemplate(template_name="calendars/_check_result.html", context=context, status_code=status)
        calendar = await services.get_calendar(calendar_id)
        return await page(
            request,
            FORM,
            status_code=status,
            **await _context(calendar, calendar, {}, check=context, check_values={"at": at, "hours": hours}),
        )
