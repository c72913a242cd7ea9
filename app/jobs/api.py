"""REST: GET /api/v1/jobs/{id} — progress and results of a background job."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get
from litestar.params import FromPath

from app.core.api import ERRORS, to
from app.core.deps import AuthUser
from app.jobs import services


class JobOut(msgspec.Struct):
    id: int
    kind: str
    status: str  # queued | running | done | failed
    total: int
    processed: int
    succeeded: int
    failed: int
    result: dict[str, Any]
    error: str


class JobApi(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:int}", responses=ERRORS)
    async def get_job(self, user: AuthUser, job_id: FromPath[int]) -> JobOut:
        """`{id, kind, status (queued|running|done|failed), total, processed, succeeded, failed, result, error}`.
        Only the job's creator or an admin may read it (404 otherwise)."""
        return to(JobOut, services.public(await services.get_job(user, job_id)))
