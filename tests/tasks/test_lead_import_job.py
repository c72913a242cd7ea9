"""The lead import through a real arq worker: the dry run and the import run as jobs and report on
the Job row; running a finished job again changes nothing; an import cut off mid-way (the worker
killed, arq runs the job again) resumes after its last committed chunk without duplicating a lead."""

from __future__ import annotations

import asyncio
import contextlib

from app.core.jobs import close_pool
from app.jobs import services as jobs
from app.leads.importing import services as importing
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead, LeadMatchKey
from tests.integration.lead_import.helpers import csv_bytes, sample_rows
from tests.support import run_worker_burst


async def _start(user, *, dry_run: bool) -> int:
    upload = await importing.store_upload(user, "leads.csv", csv_bytes(sample_rows()))
    return await importing.start_import(
        user, upload["token"], upload["suggestion"], importing.ImportOptions(dry_run=dry_run)
    )


async def test_dry_run_then_import_through_the_worker_and_again_changes_nothing(make_user):
    admin = await make_user("admin")
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    dry_run = await _start(admin, dry_run=True)
    worker = await run_worker_burst()
    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    job = await jobs.load_job(dry_run)
    assert (job["status"], job["processed"], job["succeeded"], job["failed"]) == ("done", 5, 2, 3)
    assert await Lead.count() == 0
    imported = await importing.import_from_dry_run(admin, dry_run)
    await run_worker_burst()
    job = await jobs.load_job(imported)
    assert (job["status"], job["succeeded"], job["failed"]) == ("done", 2, 3)
    for n in range(2):  # the same job delivered twice more
        await importing.enqueue("import_leads", imported, job_id=f"again-{n}")
        assert (await run_worker_burst()).jobs_failed == 0
    assert await Lead.count() == 2 and await AuditEntry.count().where(AuditEntry.entity_type == "lead") == 2
    assert (await jobs.load_job(imported))["succeeded"] == 2
    await close_pool()


async def test_an_import_cut_off_after_a_chunk_resumes_where_it_stopped(make_user, monkeypatch):
    admin = await make_user("admin")
    monkeypatch.setattr(importing, "CHUNK", 2)
    job_id = await _start(admin, dry_run=False)
    real_write = importing._write_chunk
    calls = 0

    async def killed_on_the_second_chunk(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise asyncio.CancelledError  # what a killed worker or arq's timeout leaves behind
        await real_write(*args, **kwargs)

    monkeypatch.setattr(importing, "_write_chunk", killed_on_the_second_chunk)
    with contextlib.suppress(asyncio.CancelledError):
        await importing.run_import(job_id)
    job = await jobs.load_job(job_id)
    assert (job["status"], job["processed"], job["succeeded"]) == ("running", 2, 1)  # chunk 1 committed
    monkeypatch.setattr(importing, "_write_chunk", real_write)
    await importing.run_import(job_id)  # arq runs it again
    job = await jobs.load_job(job_id)
    assert (job["status"], job["processed"], job["succeeded"], job["failed"]) == ("done", 5, 2, 3)
    assert sorted(r["student_name"] for r in await Lead.select(Lead.student_name)) == ["张小明", "赵六"]
    assert await LeadMatchKey.count().where(LeadMatchKey.key == "phone:13800138000") == 1
    failed = [row[0] for row in importing.failed_rows(job)[1]]
    assert failed == ["李小红", "", "张晓明"]
