"""The recycle bin's daily clean-up through a real arq worker: with a FrozenClock in ctx it purges only
what has been in the bin 30 days, once, however often it runs; and it is one of the worker's crons."""

from __future__ import annotations

from datetime import timedelta

from app.core.clock import FrozenClock, system_clock
from app.core.jobs import close_pool, enqueue
from app.leads import services
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead
from tests.support import run_worker_burst


async def test_the_purge_job_deletes_only_old_items_and_is_safe_to_run_twice(make_user):
    admin = await make_user("admin")
    now = system_clock.now()
    old = await services.create_lead(admin, {"student_name": "张伟", "phone": "13800138000"})
    young = await services.create_lead(admin, {"student_name": "王芳", "phone": "13900139000"})
    live = await services.create_lead(admin, {"student_name": "李雷", "phone": "13700137000"})
    await services.delete_lead(admin, old["id"], clock=FrozenClock(now - timedelta(days=30, hours=1)))
    await services.delete_lead(admin, young["id"], clock=FrozenClock(now - timedelta(days=29, hours=23)))
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    for n in range(2):
        await enqueue("purge_recycle_bin", job_id=f"purge-{n}")
        worker = await run_worker_burst(ctx={"clock": FrozenClock(now)})
        assert worker.jobs_failed == 0 and worker.jobs_complete == 1
    assert sorted(r["id"] for r in await Lead.select(Lead.id)) == sorted([young["id"], live["id"]])
    assert await AuditEntry.count().where(AuditEntry.action == "purge") == 1
    await close_pool()


def test_the_purge_is_a_daily_cron():
    from tasks.worker import WorkerSettings

    [job] = [c for c in WorkerSettings.cron_jobs if c.name.endswith("purge_recycle_bin")]
    assert job.hour == {2} and job.minute == {15} and job.second == {0}
