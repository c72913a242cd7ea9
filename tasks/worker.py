"""arq worker: `python -m arq tasks.worker.WorkerSettings`.

Its liveness is arq's own health-check key, written every few seconds; /healthz reads it.
"""

from __future__ import annotations

from typing import Any

from arq import cron, func

from app.core.jobs import arq_redis_settings
from app.core.redis import close_redis
from app.settings import get_settings
from tasks.approvals import remind_overdue_approvals
from tasks.assignment import assign_ticket, reassign_ticket, sweep_unassigned
from tasks.automation import prune_automation_triggers, run_automation, sweep_automation
from tasks.lead_import import import_leads
from tasks.leads import distribute_new_pool_leads, distribute_pool_leads, reclaim_leads, remind_due_follow_ups
from tasks.notifications import deliver_announcement, sweep_announcements
from tasks.outbox import deliver_outbox, sweep_outbox
from tasks.recycle import purge_recycle_bin
from tasks.sla import sla_scan


async def startup(ctx: dict) -> None:
    from app.wiring import wire

    wire()
    from piccolo.engine.postgres import PostgresEngine

    from piccolo_conf import DB

    if isinstance(DB, PostgresEngine):
        await DB.start_connection_pool(min_size=1, max_size=5)


async def shutdown(ctx: dict) -> None:
    from piccolo.engine.postgres import PostgresEngine

    from piccolo_conf import DB

    await close_redis()
    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()
    elif hasattr(DB, "close_pool"):  # app.core.sqlite_engine
        await DB.close_pool()


class WorkerSettings:
    functions: list[Any] = [deliver_announcement, deliver_outbox]  # coroutines and arq func() wrappers
    functions += [assign_ticket, reassign_ticket]
    functions += [run_automation]
    functions += [sla_scan]  # also enqueueable on demand
    functions += [remind_overdue_approvals]
    functions += [reclaim_leads, distribute_pool_leads, remind_due_follow_ups, distribute_new_pool_leads]  # also crons
    functions += [func(import_leads, timeout=3600)]  # 100,000 rows take about a minute
    cron_jobs = [
        cron(sweep_unassigned, second=set(range(0, 60, 10)), run_at_startup=True),
        cron(sweep_announcements, second={0}, run_at_startup=True),
        cron(sweep_outbox, second=set(range(0, 60, 10)), run_at_startup=True),
    ]
    cron_jobs += [cron(sla_scan, second={0, 15, 30, 45}, run_at_startup=True)]
    cron_jobs += [cron(remind_overdue_approvals, second={30}, run_at_startup=True)]
    cron_jobs += [
        cron(remind_due_follow_ups, second={20}, run_at_startup=True),
        cron(distribute_new_pool_leads, second={40}, run_at_startup=True),
        cron(reclaim_leads, hour={1}, minute={5}, second={0}),
    ]  # daily, in the worker's time zone
    cron_jobs += [
        cron(sweep_automation, second=set(range(5, 60, 10)), run_at_startup=True),
        cron(prune_automation_triggers, hour={3}, minute={30}, second={0}),
    ]  # daily
    functions += [purge_recycle_bin]  # also a daily cron
    cron_jobs += [cron(purge_recycle_bin, hour={2}, minute={15}, second={0})]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = arq_redis_settings()
    health_check_key = get_settings().redis.worker_health_key
    health_check_interval = 5
    poll_delay = 0.1
    max_tries = 5
