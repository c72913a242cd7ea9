"""The recycle bin page (/recycle): filters, restore, purge now; and the "moved to the bin" page that
a record's Delete button answers (`moved_to_bin`), whose Undo posts to restore with `from=deleted`."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.forms import form_data, optional_int, parse_int
from app.core.i18n import gettext as _
from app.core.pagination import PageRequest
from app.core.permissions import CurrentUser
from app.core.web import page
from app.recycle import service
from app.recycle.registry import RETENTION_DAYS, kinds


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def parse_filter(kind: str, deleted_by: str, deleted_from: str, deleted_to: str, q: str) -> service.BinFilter:
    return service.BinFilter(
        kind=kind if kind in kinds() else "",
        deleted_by=parse_int(deleted_by),
        deleted_from=_day(deleted_from),
        deleted_to=_day(deleted_to),
        q=q.strip()[:100],
    )


def _params(filters: service.BinFilter) -> dict:
    return {
        "kind": filters.kind,
        "deleted_by": filters.deleted_by or "",
        "q": filters.q,
        "deleted_from": filters.deleted_from.isoformat() if filters.deleted_from else "",
        "deleted_to": filters.deleted_to.isoformat() if filters.deleted_to else "",
    }


async def _render(
    request: Request,
    user: CurrentUser,
    filters: service.BinFilter,
    pager: PageRequest,
    *,
    status_code: int = 200,
    notice: str = "",
    notice_url: str = "",
    alert: str = "",
) -> Response:
    result = await service.list_bin(user, filters, pager)
    rows_only = request.htmx and request.htmx.target == "bin-results"
    return await page(
        request,
        "recycle/rows.html" if rows_only else "recycle/index.html",
        status_code=status_code,
        page_data=result,
        filters=filters,
        params=_params(filters),
        kinds=kinds(),
        deleters=[] if rows_only else await service.deleters_for_filter(user),
        can_purge=service.can_purge(user),
        retention_days=RETENTION_DAYS,
        notice=notice,
        notice_url=notice_url,
        alert=alert,
    )


async def _back_to_list(request: Request) -> tuple[service.BinFilter, PageRequest]:
    """The filters the list was showing when a row's button was pressed (sent as hidden fields)."""
    data = await form_data(request)
    filters = parse_filter(*(str(data.get(k, "")) for k in ("kind", "deleted_by", "deleted_from", "deleted_to", "q")))
    offset = optional_int(data, "offset")
    return filters, PageRequest.parse("", "" if offset is None else offset)


async def moved_to_bin(request: Request, kind: str, item_id: int, name: str, back_url: str) -> Response:
    """The answer to a record page's Delete button: "“name” is in the recycle bin" with Undo."""
    shown = await page(request, "recycle/deleted.html", kind=kind, item_id=item_id, name=name, back_url=back_url)
    # The record's own URL is a 404 now: the address bar shows the bin, where it can be found again.
    shown.headers["HX-Push-Url"] = f"/recycle?kind={kind}"
    return shown


class RecycleBinController(Controller):
    path = "/recycle"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        kind: FromQuery[str] = "",
        deleted_by: FromQuery[str] = "",
        deleted_from: FromQuery[str] = "",
        deleted_to: FromQuery[str] = "",
        q: FromQuery[str] = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        filters = parse_filter(kind, deleted_by, deleted_from, deleted_to, q)
        return await _render(request, user, filters, PageRequest.parse(limit, offset))

    @post("/{kind:str}/{item_id:int}/restore")
    async def restore(self, request: Request, user: AuthUser, kind: FromPath[str], item_id: FromPath[int]) -> Response:
        filters, pager = await _back_to_list(request)
        data = await form_data(request)
        try:
            url = await service.restore(user, kind, item_id, ip=client_ip(request))
        except (Conflict, Forbidden, NotFound) as exc:
            if data.get("from") == "deleted":  # the undo link on the "moved to the bin" page
                raise
            return await _render(request, user, filters, pager, status_code=exc.status_code, alert=_(exc.detail))
        if data.get("from") == "deleted":
            return ClientRedirect(url) if request.htmx else Redirect(url)
        return await _render(request, user, filters, pager, notice=_("Restored."), notice_url=url)

    @post("/{kind:str}/{item_id:int}/purge")
    async def purge(self, request: Request, user: AuthUser, kind: FromPath[str], item_id: FromPath[int]) -> Response:
        filters, pager = await _back_to_list(request)
        if not service.can_purge(user):
            raise Forbidden(_("Only an administrator can delete items for good."))
        if (await form_data(request)).get("confirm") != "yes":
            return await _render(
                request,
                user,
                filters,
                pager,
                status_code=422,
                alert=_("Confirm that the item should be deleted for good."),
            )
        try:
            await service.purge(user, kind, item_id, ip=client_ip(request))
        except (Conflict, NotFound) as exc:
            return await _render(request, user, filters, pager, status_code=exc.status_code, alert=_(exc.detail))
        return await _render(request, user, filters, pager, notice=_("Deleted for good."))
