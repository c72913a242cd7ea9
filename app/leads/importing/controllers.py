"""Pages of the lead import (upload → mapping → dry run report → import with a live progress bar →
results) and the export of the filtered lead list."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

from app.core.deps import AuthUser
from app.core.errors import FieldError, Forbidden, ValidationFailed
from app.core.forms import form_data, parse_int
from app.core.i18n import N_
from app.core.pagination import PageRequest
from app.core.web import page
from app.jobs import services as jobs
from app.leads import export, policy, services
from app.leads.importing import files as import_files
from app.leads.importing import mapping as import_mapping
from app.leads.importing import services as importing
from app.leads.importing.downloads import export_response, failed_rows_response
from app.leads.schemas import OwnerScope
from tables.jobs.tables import Job

ISSUES_PER_PAGE = 50


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


def _options_from(data: dict) -> importing.ImportOptions:
    raw = data.get("owner", "default")
    owner = "default" if raw == "default" else parse_int(raw)
    return importing.ImportOptions(owner=owner, on_duplicate=data.get("on_duplicate") or "skip", dry_run=True)


async def _upload_context(user) -> dict:
    recent = (
        await Job.select(Job.id, Job.status, Job.total, Job.succeeded, Job.failed, Job.params, Job.created_at)
        .where((Job.kind == importing.KIND) & (Job.created_by == user.id))
        .order_by(Job.id, ascending=False)
        .limit(10)
        .output(load_json=True)
    )
    return {
        "owners": await services.assignable_owners(user),
        "recent": recent,
        "default_owner": importing.default_owner(user),
        "max_mb": import_files.MAX_BYTES // (1024 * 1024),
    }


def _issues_page(job: dict, offset: int) -> dict:
    items = list(importing.issues_of(job))
    shown = items[offset : offset + ISSUES_PER_PAGE]
    name_at = job["params"]["mapping"].index("student_name")
    for item in shown:
        item["problems"] = importing.describe(item)
        item["name"] = item["cells"][name_at] if name_at < len(item["cells"]) else ""
    return {"items": shown, "total": len(items), "offset": offset, "limit": ISSUES_PER_PAGE}


class LeadImportController(Controller):
    path = "/leads"
    include_in_schema = False

    @get("/import")
    async def upload_form(self, request: Request, user: AuthUser) -> Response:
        if not policy.can_use_leads(user):
            raise Forbidden()
        return await page(request, "leads/import.html", errors={}, values={}, **await _upload_context(user))

    @post("/import", request_max_body_size=import_files.REQUEST_LIMIT)
    async def upload(self, request: Request, user: AuthUser) -> Response:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
        upload = form.get("file")
        try:
            if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
                raise ValidationFailed([FieldError("file", N_("Attach the CSV or Excel file to import."))])
            stored = await importing.store_upload(user, upload.filename, await upload.read(import_files.MAX_BYTES + 1))
        except ValidationFailed as exc:
            return await page(
                request,
                "leads/import.html",
                status_code=exc.status_code,
                errors=exc.by_field(),
                values=values,
                **await _upload_context(user),
            )
        return await page(
            request,
            "leads/import_mapping.html",
            upload=stored,
            mapping=stored["suggestion"],
            values=values,
            errors={},
            fields=import_mapping.IMPORT_FIELDS,
            labels=services.FIELD_LABELS,
        )

    @post("/import/check")
    async def check(self, request: Request, user: AuthUser) -> Response:
        """Start the dry run with the chosen mapping."""
        data = await form_data(request)
        upload = importing.uploaded(user, data.get("token", ""))
        mapping = [data.get(f"map_{i}", "") for i in range(len(upload["headers"]))]
        try:
            job_id = await importing.start_import(user, upload["token"], mapping, _options_from(data))
        except ValidationFailed as exc:
            stored = {**upload, "sample": (await _sample(upload))}
            return await page(
                request,
                "leads/import_mapping.html",
                status_code=422,
                upload=stored,
                mapping=mapping,
                values=data,
                errors={e.field: e.message for e in exc.errors},
                messages=[e.message for e in exc.errors],
                fields=import_mapping.IMPORT_FIELDS,
                labels=services.FIELD_LABELS,
            )
        return _redirect(request, f"/leads/import/jobs/{job_id}")

    @get("/import/jobs/{job_id:int}")
    async def job_page(
        self, request: Request, user: AuthUser, job_id: FromPath[int], offset: FromQuery[str] = ""
    ) -> Response:
        job = await jobs.get_job(user, job_id, importing.KIND)
        start = PageRequest.parse(ISSUES_PER_PAGE, offset).offset if offset else 0
        issues = _issues_page(job, start) if job["status"] == "done" else None
        if request.htmx and request.htmx.target == "import-issues":
            return await page(request, "leads/import_issues.html", job=job, issues=issues)
        return await page(request, "leads/import_job.html", job=job, issues=issues)

    @get("/import/jobs/{job_id:int}/progress")
    async def progress(self, request: Request, user: AuthUser, job_id: FromPath[int]) -> Response:
        """The job's live region, polled every second while it runs; the results once it is done."""
        job = await jobs.get_job(user, job_id, importing.KIND)
        issues = _issues_page(job, 0) if job["status"] == "done" else None
        return await page(request, "leads/import_job_body.html", job=job, issues=issues)

    @post("/import/jobs/{job_id:int}/start")
    async def start(self, request: Request, user: AuthUser, job_id: FromPath[int]) -> Response:
        """Import the file that this dry run checked, with its mapping and options."""
        new_id = await importing.import_from_dry_run(user, job_id)
        return _redirect(request, f"/leads/import/jobs/{new_id}")

    @get("/import/jobs/{job_id:int}/failed-rows")
    async def failed_rows(self, user: AuthUser, job_id: FromPath[int], format: FromQuery[str] = "csv") -> Response:
        job = await jobs.get_job(user, job_id, importing.KIND)
        return await failed_rows_response(job, format)

    @get("/export")
    async def export(
        self,
        user: AuthUser,
        format: FromQuery[str] = "csv",
        q: FromQuery[str] = "",
        status: FromQuery[str] = "",
        owner_scope: OwnerScope = "",
    ) -> Response:
        """The lead list as filtered on the page (same filters, same visibility), as CSV or XLSX."""
        filters = services.LeadFilter(q=q, status=status, scope=owner_scope)
        await services.filtered_where(user, filters)  # refuses roles without leads before streaming starts
        return await export_response(export.headers(), export.export_rows(user, filters), format)


async def _sample(upload: dict) -> list[list[str]]:
    import asyncio

    data = import_files.path_of(upload["token"]).read_bytes()
    _headers, rows = await asyncio.to_thread(
        import_files.read_table, data, import_files.extension_of(upload["token"]), max_rows=5
    )
    return rows
