"""REST: POST /api/v1/leads/import (multipart) → 202 {"job_id"}; the failed rows of an import.

Progress and results: `GET /api/v1/jobs/{id}` (app/jobs/api.py).
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.core.api import ERRORS
from app.core.deps import AuthUser
from app.core.errors import FieldError, Forbidden, ValidationFailed
from app.core.forms import parse_int
from app.core.i18n import N_
from app.jobs import services as jobs
from app.leads import policy
from app.leads.importing import files as import_files
from app.leads.importing import mapping as import_mapping
from app.leads.importing import services as importing
from app.leads.importing.downloads import failed_rows_response


def _flag(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _id_or_default(form, name: str):
    """Absent: the default; empty or "null": none (the public pool); otherwise an id."""
    if name not in form:
        return "default"
    raw = str(form.get(name) or "").strip().lower()
    if raw in ("", "null", "none"):
        return None
    number = parse_int(raw)
    if number is None:
        raise ValidationFailed([FieldError(name, N_("Must be an integer."))])
    return number


class ImportStarted(msgspec.Struct):
    job_id: int
    status: str
    dry_run: bool
    mapping: dict[str, str]  # column header -> lead field


class LeadImportApi(Controller):
    path = "/api/v1/leads/import"
    tags = ["leads"]

    @post("/", status_code=202, request_max_body_size=import_files.REQUEST_LIMIT, responses=ERRORS)
    async def start_import(self, request: Request, user: AuthUser) -> ImportStarted:
        """Multipart: `file` (CSV or XLSX, at most 20 MB), optional `mapping` (JSON: {"header": "field"} or a
        list of fields by column; default: suggested from the headers), `dry_run` (true: check only),
        `owner_id` (empty: the public pool), `campus_id`, `on_duplicate` (`skip` or `import`).
        Answers 202 `{"job_id", "status", "dry_run", "mapping"}`; follow it with `GET /api/v1/jobs/{id}`."""
        if not policy.can_use_leads(user):
            raise Forbidden()
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
            raise ValidationFailed([FieldError("file", N_("Attach the CSV or Excel file to import."))])
        data = await upload.read(import_files.MAX_BYTES + 1)
        stored = await importing.store_upload(user, upload.filename, data)
        mapping = import_mapping.parse_mapping(form.get("mapping"), stored["headers"])
        options = importing.ImportOptions(
            owner=_id_or_default(form, "owner_id"),
            campus=_id_or_default(form, "campus_id"),
            on_duplicate=str(form.get("on_duplicate") or "skip"),
            dry_run=_flag(form.get("dry_run")),
        )
        job_id = await importing.start_import(user, stored["token"], mapping, options)
        return ImportStarted(job_id, "queued", options.dry_run, {h: f for h, f in zip(stored["headers"], mapping) if f})

    @get(
        "/{job_id:int}/failed-rows",
        responses={
            **ERRORS,
            200: ResponseSpec(None, description="The failed rows as a CSV or XLSX file download"),
        },
    )
    async def failed_rows(self, user: AuthUser, job_id: FromPath[int], format: FromQuery[str] = "csv") -> Response:
        """The rows that were not imported (or would not be, after a dry run) with an `error` column."""
        job = await jobs.get_job(user, job_id, importing.KIND)
        return await failed_rows_response(job, format)
