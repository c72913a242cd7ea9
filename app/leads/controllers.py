"""Lead pages: list with search and filters, create, detail with history, edit, delete with undo."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

import app.leads.phones as phones
from app.core import audit
from app.core import phones as core_phones
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import ValidationFailed
from app.core.forms import form_data, optional_int
from app.core.i18n import gettext as _
from app.core.pagination import PageRequest
from app.core.web import page
from app.leads import merge, page_hooks, policy, services
from app.leads.dedup.clusters import duplicate_clusters
from app.leads.schemas import OwnerScope
from tables.accounts.tables import Campus


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


async def _form_context(user) -> dict:
    return {
        "owners": await services.assignable_owners(user),
        "campuses": await Campus.select(Campus.id, Campus.name).order_by(Campus.id),
        "statuses": services.STATUSES,
        "sources": services.SOURCES,
    }


async def duplicate_rows(user, matches) -> list[dict]:
    """Matches as the pages show them: leads the user cannot see give only their owner, no name."""
    rows = []
    for m in matches:
        visible = await policy.can_view(user, m.lead)
        rows.append(
            {
                "id": m.lead_id,
                "score": m.score,
                "blocking": m.blocking,
                "reasons": [r.text(_) for r in m.reasons],
                "visible": visible,
                "student_name": m.lead.get("student_name") if visible else "",
                "owner_name": m.lead.get("owner_name") or "",
                "status": m.lead.get("status", ""),
            }
        )
    return rows


def _wants_duplicate(data: dict) -> bool:
    return data.get("allow_duplicate") == "1"


class LeadController(Controller):
    path = "/leads"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        q: FromQuery[str] = "",
        status: FromQuery[str] = "",
        owner_scope: OwnerScope = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        filters = services.LeadFilter(q=q, status=status, scope=owner_scope)
        result = await services.list_leads(user, filters, PageRequest.parse(limit, offset))
        result.items = phones.present_leads(user, result.items)
        template = "leads/rows.html" if request.htmx and request.htmx.target == "lead-results" else "leads/index.html"
        return await page(
            request, template, page_data=result, filters=filters, statuses=services.STATUSES, sources=services.SOURCES
        )

    @get("/new")
    async def new(self, request: Request, user: AuthUser) -> Response:
        values = {"owner": user.id if user.role == "advisor" else "", "campus": user.campus_id, "status": "new"}
        return await page(request, "leads/form.html", lead=None, values=values, errors={}, **await _form_context(user))

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            lead = await services.create_lead(user, data, ip=client_ip(request), allow_duplicate=_wants_duplicate(data))
        except ValidationFailed as exc:
            return await page(
                request,
                "leads/form.html",
                status_code=422,
                lead=None,
                values=data,
                errors=exc.by_field(),
                **await _form_context(user),
            )
        except services.DuplicatesFound as exc:
            return await page(
                request,
                "leads/form.html",
                status_code=409,
                lead=None,
                values=data,
                errors={},
                duplicates=await duplicate_rows(user, exc.matches),
                **await _form_context(user),
            )
        return _redirect(request, f"/leads/{lead['id']}")

    @get("/{lead_id:int}")
    async def detail(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        lead = await services.get_lead(user, lead_id)
        entries = await audit.history("lead", lead_id)
        duplicates = await duplicate_rows(user, await services.duplicates_of(user, lead_id))
        return await page(
            request,
            "leads/detail.html",
            lead=phones.present_lead(user, lead),
            entries=core_phones.present_changes(user, lead["owner"], entries),
            statuses=services.STATUSES,
            sources=services.SOURCES,
            field_labels=services.FIELD_LABELS,
            duplicates=duplicates,
            merges=await merge.merges_of(lead_id),
            conversion=await page_hooks.conversion_state(user, lead),
        )

    @get("/{lead_id:int}/edit")
    async def edit(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        lead = phones.present_lead(user, await services.get_lead(user, lead_id))
        return await page(request, "leads/form.html", lead=lead, values=lead, errors={}, **await _form_context(user))

    @post("/{lead_id:int}")
    async def update(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        data = await form_data(request)
        version = optional_int(data, "version")
        try:
            await services.update_lead(
                user, lead_id, data, version=version, ip=client_ip(request), allow_duplicate=_wants_duplicate(data)
            )
        except ValidationFailed as exc:
            lead = phones.present_lead(user, await services.get_lead(user, lead_id))
            return await page(
                request,
                "leads/form.html",
                status_code=422,
                lead=lead,
                values=data,
                errors=exc.by_field(),
                **await _form_context(user),
            )
        except services.DuplicatesFound as exc:
            lead = phones.present_lead(user, await services.get_lead(user, lead_id))
            return await page(
                request,
                "leads/form.html",
                status_code=409,
                lead=lead,
                values=data,
                errors={},
                duplicates=await duplicate_rows(user, exc.matches),
                **await _form_context(user),
            )
        return _redirect(request, f"/leads/{lead_id}")

    @post("/{lead_id:int}/delete")
    async def delete(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        lead = await services.get_lead(user, lead_id)
        await services.delete_lead(user, lead_id, ip=client_ip(request))
        result = await services.list_leads(user, services.LeadFilter(), PageRequest())
        return await page(
            request,
            "leads/index.html",
            page_data=result,
            filters=services.LeadFilter(),
            statuses=services.STATUSES,
            sources=services.SOURCES,
            undo=lead,
        )

    @post("/{lead_id:int}/restore")
    async def restore(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        await services.restore_lead(user, lead_id, ip=client_ip(request))
        return _redirect(request, f"/leads/{lead_id}")


class LeadDuplicatesController(Controller):
    """The duplicates page (clusters) and the merge wizard."""

    path = "/leads"
    include_in_schema = False

    @get("/duplicates")
    async def clusters(
        self, request: Request, user: AuthUser, limit: FromQuery[str] = "", offset: FromQuery[str] = ""
    ) -> Response:
        result = await duplicate_clusters(user, PageRequest.parse(limit, offset))
        for cluster in result.items:
            cluster.leads = phones.present_leads(user, cluster.leads)
        return await page(request, "leads/duplicates.html", page_data=result, statuses=services.STATUSES)

    @get("/merge")
    async def wizard(self, request: Request, user: AuthUser, a: FromQuery[int], b: FromQuery[int]) -> Response:
        first, second = await merge.load_pair(user, a, b)
        first, second = phones.present_lead(user, first), phones.present_lead(user, second)
        return await page(
            request,
            "leads/merge.html",
            a=first,
            b=second,
            fields=merge.MERGE_FIELDS,
            errors={},
            labels=services.FIELD_LABELS,
            statuses=services.STATUSES,
            sources=services.SOURCES,
        )

    @post("/merge")
    async def do_merge(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        ids = [optional_int(data, k) or 0 for k in ("a", "b")]
        survivor = optional_int(data, "survivor")
        survivor = ids[0] if survivor is None else survivor
        merged = ids[1] if survivor == ids[0] else ids[0]
        picks = {f: pick for f in merge.MERGE_FIELDS if (pick := optional_int(data, f"pick_{f}")) is not None}
        try:
            await merge.merge_leads(user, survivor, merged, picks, ip=client_ip(request))
        except ValidationFailed as exc:
            first, second = await merge.load_pair(user, ids[0], ids[1])
            return await page(
                request,
                "leads/merge.html",
                status_code=422,
                a=first,
                b=second,
                errors=exc.by_field(),
                fields=merge.MERGE_FIELDS,
                labels=services.FIELD_LABELS,
                statuses=services.STATUSES,
                sources=services.SOURCES,
            )
        return _redirect(request, f"/leads/{survivor}")

    @post("/merges/{merge_id:int}/undo")
    async def undo(self, request: Request, user: AuthUser, merge_id: FromPath[int]) -> Response:
        survivor = await merge.undo_merge(user, merge_id, ip=client_ip(request))
        return _redirect(request, f"/leads/{survivor}")
