"""Lead import job: a thin wrapper over app.leads.importing.services.run_import (safe to run twice: a finished
job is left alone, an interrupted import resumes after its last committed chunk)."""

from __future__ import annotations

from app.leads.importing import services as importing


async def import_leads(ctx: dict, job_id: int) -> dict:
    return await importing.run_import(job_id)
