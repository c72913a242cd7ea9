"""Background jobs that someone started and watches: the record, its progress and who may read it.

The arq job does the work and moves the counters; a page polls them or `GET /api/v1/jobs/{id}`
returns them. Progress of a chunk is written in that chunk's own transaction, so after a crash a
re-run resumes at `processed` and never counts a row twice.
"""

from __future__ import annotations

from app.core.clock import Clock, system_clock
from app.core.errors import NotFound
from app.core.permissions import CurrentUser
from tables.jobs.tables import Job

STATUSES = ("queued", "running", "done", "failed")
PUBLIC_FIELDS = ("id", "kind", "status", "total", "processed", "succeeded", "failed", "result", "error")


async def create_job(user: CurrentUser, kind: str, params: dict, *, total: int = 0) -> int:
    rows = await Job.insert(Job(kind=kind, created_by=user.id, params=params, total=total)).returning(Job.id)
    return rows[0]["id"]


async def load_job(job_id: int) -> dict | None:
    """The whole row (params included), for the job that does the work."""
    return await Job.select().where(Job.id == job_id).first().output(load_json=True)


async def get_job(user: CurrentUser, job_id: int, kind: str | None = None) -> dict:
    """A job its creator or an admin may read; anyone else gets 404, as for a job that does not exist."""
    job = await load_job(job_id)
    if job is None or (kind and job["kind"] != kind) or (job["created_by"] != user.id and not user.is_admin):
        raise NotFound("This job does not exist or you cannot see it.")
    return job


def public(job: dict) -> dict:
    """What `GET /api/v1/jobs/{id}` returns."""
    return {k: job[k] for k in PUBLIC_FIELDS}


async def start(job_id: int, total: int, clock: Clock = system_clock) -> None:
    await Job.update({Job.status: "running", Job.total: total, Job.started_at: clock.now(), Job.error: ""}).where(
        Job.id == job_id
    )


async def reset_progress(job_id: int) -> None:
    await Job.update({Job.processed: 0, Job.succeeded: 0, Job.failed: 0}).where(Job.id == job_id)


async def add_progress(job_id: int, processed: int, succeeded: int, failed: int) -> None:
    """Move the counters by a chunk's figures; call inside the chunk's transaction."""
    await Job.update(
        {
            Job.processed: Job.processed + processed,
            Job.succeeded: Job.succeeded + succeeded,
            Job.failed: Job.failed + failed,
        }
    ).where(Job.id == job_id)


async def finish(job_id: int, result: dict, clock: Clock = system_clock) -> None:
    await Job.update({Job.status: "done", Job.result: result, Job.finished_at: clock.now()}).where(Job.id == job_id)


async def fail(job_id: int, error: str, clock: Clock = system_clock) -> None:
    await Job.update({Job.status: "failed", Job.error: error[:2000], Job.finished_at: clock.now()}).where(
        Job.id == job_id
    )
