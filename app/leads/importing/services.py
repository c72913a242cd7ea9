"""Bulk import of leads: column mapping, a dry run, then the import itself as an arq job.

`start_import` stores the file and queues a `Job`; `run_import` (the job, `tasks/lead_import.py`)
reads it in chunks of `CHUNK` rows. Every row goes through create_lead's validation
(`services.validate_new_lead`) and the import's duplicate check (`dedup/bulk.py`: against stored
leads and earlier rows of the file). A dry run writes no lead; an import writes each chunk in its own
transaction together with the job's progress, so a failed row never stops the others and a re-run
after a crash resumes after the last committed chunk. What a chunk found (rows with errors or
duplicates) goes to a JSON-lines file beside the upload: the report pages and the failed-rows
download read those.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass, replace

from app.accounts.services import load_user
from app.core import audit
from app.core.bulk_insert import bulk_insert
from app.core.clock import system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, ValidationFailed
from app.core.events import Event
from app.core.i18n import N_, gettext
from app.core.jobs import enqueue
from app.core.permissions import CurrentUser
from app.jobs import services as jobs
from app.leads import policy, services
from app.leads.audience import of_owners
from app.leads.dedup.bulk import FileDuplicates
from app.leads.dedup.check import key_rows
from app.leads.dedup.scoring import Match, Reason
from app.leads.importing import files as import_files
from app.leads.importing.mapping import IMPORT_FIELDS, check_mapping, row_values, suggest_mapping
from tables.accounts.tables import Campus, User
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead, LeadMatchKey

log = logging.getLogger(__name__)

KIND = "lead_import"
CHUNK = 1000
ON_DUPLICATE = ("skip", "import")


@dataclass(frozen=True)
class ImportOptions:
    owner: int | str | None = "default"  # "default": as for a lead created by hand (see default_owner)
    campus: int | str | None = "default"  # "default": the importer's campus
    on_duplicate: str = "skip"  # "skip": rows matching a lead or an earlier row exactly are not imported
    dry_run: bool = False


async def _check_options(user: CurrentUser, options: ImportOptions) -> None:
    errors = []
    if options.on_duplicate not in ON_DUPLICATE:
        errors.append(FieldError("on_duplicate", N_("Choose one of the listed options.")))
    if options.owner is not None and (
        not await User.exists().where((User.id == options.owner) & User.is_active.eq(True))
        or not await policy.can_assign_to(user, options.owner)
    ):
        errors.append(FieldError("owner", N_("You cannot assign leads to this person.")))
    if options.campus is not None and not await Campus.exists().where(Campus.id == options.campus):
        errors.append(FieldError("campus", N_("Unknown campus.")))
    if errors:
        raise ValidationFailed(errors)


def default_owner(user: CurrentUser) -> int | None:
    """As for a lead created by hand: an advisor's imports are theirs, others' go to the public pool."""
    return user.id if user.role == "advisor" else None


async def store_upload(user: CurrentUser, filename: str, data: bytes) -> dict:
    """Check and keep an uploaded file for the mapping step: {token, filename, headers, sample, suggestion}."""
    if not policy.can_use_leads(user):
        raise Forbidden()
    ext = import_files.check_upload(filename, data)
    headers, sample = await asyncio.to_thread(import_files.read_table, data, ext, max_rows=5)
    if not headers:
        raise import_files.ImportFileRefused([FieldError("file", N_("The file is empty."))])
    token = await asyncio.to_thread(import_files.store, data, ext)
    owner_file = import_files.path_of(token + ".json")
    owner_file.write_text(json.dumps({"user": user.id, "filename": filename, "headers": headers}, ensure_ascii=False))
    return {
        "token": token,
        "filename": filename,
        "headers": headers,
        "sample": sample,
        "suggestion": suggest_mapping(headers),
    }


def uploaded(user: CurrentUser, token: str) -> dict:
    """The upload behind a mapping form; only its uploader may use it."""
    try:
        meta = json.loads(import_files.path_of(token + ".json").read_text())
    except (OSError, ValueError):
        meta = None
    if not meta or meta.get("user") != user.id or not import_files.path_of(token).exists():
        raise ValidationFailed([FieldError("file", N_("Upload the file again."))])
    return {"token": token, **meta}


async def start_import(user: CurrentUser, token: str, mapping: list[str], options: ImportOptions) -> int:
    """Queue a dry run or an import of an uploaded file; returns the job id."""
    if not policy.can_use_leads(user):
        raise Forbidden()
    meta = uploaded(user, token)
    check_mapping(mapping)
    if options.owner == "default":
        options = replace(options, owner=default_owner(user))
    if options.campus == "default":
        options = replace(options, campus=user.campus_id)
    await _check_options(user, options)
    params = {
        "file": token,
        "filename": meta["filename"],
        "headers": meta["headers"],
        "mapping": mapping,
        "owner": options.owner,
        "campus": options.campus,
        "on_duplicate": options.on_duplicate,
        "dry_run": options.dry_run,
    }
    job_id = await jobs.create_job(user, KIND, params)
    await enqueue("import_leads", job_id, job_id=f"lead-import-{job_id}")
    return job_id


async def import_from_dry_run(user: CurrentUser, dry_run_id: int) -> int:
    """The import of a checked file with the dry run's mapping and options."""
    job = await jobs.get_job(user, dry_run_id, KIND)
    params = job["params"]
    if not params["dry_run"] or job["status"] != "done":
        raise Conflict(N_("Import a file once its check has finished."))
    options = ImportOptions(owner=params["owner"], campus=params["campus"], on_duplicate=params["on_duplicate"])
    return await start_import(user, params["file"], params["mapping"], options)


# --- the job --------------------------------------------------------------------------------------


@dataclass
class RowOutcome:
    row: int
    cells: list[str]
    values: dict | None  # validated values, None when the row has errors
    errors: list[FieldError]
    matches: list[Match]
    written: bool = False

    def issue(self, on_duplicate: str) -> dict | None:
        if not self.errors and not self.matches:
            return None
        return {
            "row": self.row,
            "cells": self.cells,
            "errors": [[e.field, e.message] for e in self.errors],
            "duplicates": [
                {
                    "lead_id": m.lead_id,
                    "row": m.index,
                    "score": m.score,
                    "blocking": m.blocking,
                    "reasons": [[r.code, r.pct] for r in m.reasons],
                }
                for m in self.matches
            ],
            "failed": self.fails(on_duplicate),
        }

    def fails(self, on_duplicate: str) -> bool:
        return bool(self.errors) or (on_duplicate == "skip" and any(m.blocking for m in self.matches))


async def _validate_rows(user, params, rows: list[list[str]], first: int) -> list[RowOutcome]:
    outcomes = []
    for n, cells in enumerate(rows, start=first):
        values = row_values(cells, params["mapping"])
        data, errors = await services.validate_new_lead(user, {**values, "owner": None, "campus": None})
        outcomes.append(RowOutcome(n, cells, None if errors else data, errors, []))
    return outcomes


async def _find_duplicates(checker: FileDuplicates, outcomes: list[RowOutcome]) -> None:
    found = await checker.check([(o.row, o.values) for o in outcomes if o.values is not None])
    for outcome in outcomes:
        outcome.matches = found.get(outcome.row, [])


_LEAD_COLUMNS = (*IMPORT_FIELDS, "owner", "campus", "created_at", "updated_at")


async def _write_chunk(user, job_id: int, params: dict, outcomes: list[RowOutcome], checker: FileDuplicates) -> None:
    """One transaction: the chunk's leads, their match keys and audit entries, and the job's progress."""
    keep = [o for o in outcomes if not o.fails(params["on_duplicate"])]
    now = system_clock.now()
    owner, campus = params["owner"], params["campus"]
    async with UnitOfWork() as uow:
        leads = [(*(o.values[f] for f in IMPORT_FIELDS), owner, campus, now, now) for o in keep]
        ids = await bulk_insert(Lead, _LEAD_COLUMNS, leads, returning_ids=True)
        keys, entries = [], []
        for lead_id, outcome in zip(ids, keep):
            outcome.written = True
            keys.extend(key_rows(lead_id, checker.profile_of(outcome.row)))
            changes = audit.snapshot({**outcome.values, "owner": owner, "campus": campus}, services.EDITABLE)
            entries.append((user.id, "create", "lead", lead_id, changes, "", now))
        await bulk_insert(LeadMatchKey, ("lead", "key", "profile"), keys)
        await bulk_insert(AuditEntry, ("actor", "action", "entity_type", "entity_id", "changes", "ip", "at"), entries)
        checker.written.update(ids)
        await jobs.add_progress(job_id, len(outcomes), len(ids), len(outcomes) - len(ids))
        if ids:
            uow.emit(Event("lead.imported", {"job_id": job_id, "ids": ids, "owner": owner}, audience=of_owners(owner)))


def _write_report(directory, chunk_no: int, outcomes: list[RowOutcome], on_duplicate: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(i, ensure_ascii=False) for o in outcomes if (i := o.issue(on_duplicate))]
    (directory / f"{chunk_no:05d}.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


async def run_import(job_id: int) -> dict:
    """The job: check (dry run) or import every row of the file. Safe to run again: a finished job is
    left alone, an interrupted import resumes after its last committed chunk, a dry run starts over."""
    job = await jobs.load_job(job_id)
    if job is None or job["status"] in ("done", "failed"):
        return (job or {}).get("result") or {}
    params = job["params"]
    user = await load_user(job["created_by"]) if job["created_by"] else None
    if user is None or not policy.can_use_leads(user):
        await jobs.fail(job_id, "The person who started this import may no longer import leads.")
        return {}
    try:
        data = import_files.path_of(params["file"]).read_bytes()
        _headers, rows = await asyncio.to_thread(
            import_files.read_table, data, import_files.extension_of(params["file"])
        )
    except (OSError, ValidationFailed) as exc:
        await jobs.fail(job_id, f"Could not read the file: {exc}")
        return {}
    directory = import_files.report_dir(params["file"])
    resume_at = 0 if params["dry_run"] else job["processed"]
    if resume_at == 0:
        await jobs.reset_progress(job_id)
        shutil.rmtree(directory, ignore_errors=True)
    await jobs.start(job_id, len(rows))
    # The dry run reports possible duplicates too; the import looks only for those that decide a row.
    checker = FileDuplicates(fuzzy=params["dry_run"])
    try:
        for chunk_no, start in enumerate(range(0, len(rows), CHUNK)):
            if start < resume_at:
                continue  # committed by an earlier run of this job
            outcomes = await _validate_rows(user, params, rows[start : start + CHUNK], first=start + 2)
            await _find_duplicates(checker, outcomes)
            _write_report(directory, chunk_no, outcomes, params["on_duplicate"])
            if params["dry_run"]:
                failed = sum(o.fails(params["on_duplicate"]) for o in outcomes)
                await jobs.add_progress(job_id, len(outcomes), len(outcomes) - failed, failed)
            else:
                await _write_chunk(user, job_id, params, outcomes, checker)
    except Exception as exc:
        log.exception("lead import %s failed", job_id)
        await jobs.fail(job_id, f"{type(exc).__name__}: {exc}")
        raise
    result = summarise(directory, dry_run=params["dry_run"])
    await jobs.finish(job_id, result)
    return result


# --- reading what a job found ---------------------------------------------------------------------


def issues_of(job: dict):
    """Every row the job reported, in file order."""
    directory = import_files.report_dir(job["params"]["file"])
    if not directory.exists():
        return
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def summarise(directory, *, dry_run: bool) -> dict:
    counts = {"dry_run": dry_run, "rows_with_errors": 0, "duplicates": 0, "possible_duplicates": 0, "failed_rows": 0}
    for path in sorted(directory.glob("*.jsonl")) if directory.exists() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            counts["rows_with_errors"] += bool(item["errors"])
            blocking = any(d["blocking"] for d in item["duplicates"])
            counts["duplicates"] += blocking
            counts["possible_duplicates"] += bool(item["duplicates"]) and not blocking
            counts["failed_rows"] += item["failed"]
    return counts


# (blocking, against a row of the file) → the message naming the other row or lead
_DUPLICATE_TEXT = {
    (True, True): N_("Duplicate of row %(other)s (%(reasons)s)"),
    (False, True): N_("Possible duplicate of row %(other)s (%(reasons)s)"),
    (True, False): N_("Duplicate of lead #%(other)s (%(reasons)s)"),
    (False, False): N_("Possible duplicate of lead #%(other)s (%(reasons)s)"),
}


def describe(item: dict, translate=gettext) -> list[str]:
    """The problems of a reported row in the reader's language."""
    texts = [f"{translate(services.FIELD_LABELS.get(f, f))}: {translate(m)}" for f, m in item["errors"]]
    for d in item["duplicates"]:
        reasons = ", ".join(Reason(code, pct).text(translate) for code, pct in d["reasons"])
        in_file = d["row"] is not None
        other = d["row"] if in_file else d["lead_id"]
        texts.append(translate(_DUPLICATE_TEXT[(d["blocking"], in_file)], other=other, reasons=reasons))
    return texts


def failed_rows(job: dict, translate=gettext):
    """(headers, rows) of the rows that were not imported, each with an "error" column at the end."""
    headers = list(job["params"]["headers"])
    width = len(headers)

    def rows():
        for item in issues_of(job):
            if item["failed"]:
                cells = (item["cells"] + [""] * width)[:width]
                yield [*cells, "; ".join(describe(item, translate))]

    return [*headers, "error"], rows()
