"""Lead jobs through real arq workers: the follow-up reminder and the reclaim act exactly once, in one
worker run twice (a FrozenClock in ctx) and in two worker processes racing (backdated data)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from app.core.clock import FrozenClock, system_clock
from app.core.jobs import close_pool, enqueue, get_pool
from app.leads.follow_ups import services as follow_ups
from app.leads.pool import settings as pool_settings
from tables.follow_ups.tables import FollowUp, LeadPoolNotice
from tables.leads.tables import Lead
from tables.notifications.tables import Notification
from tests.integration.leads_pool.helpers import make_lead, owner_of
from tests.support import run_worker_burst

ROOT = Path(__file__).resolve().parents[2]


async def _count(user_id: int, kind: str) -> int:
    return await Notification.count().where((Notification.recipient == user_id) & (Notification.kind == kind))


async def test_a_due_follow_up_reminds_the_owner_once(make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor.id, student_name="韩梅梅")
    now = system_clock.now()
    when = (now + timedelta(hours=2)).isoformat()
    await follow_ups.add_follow_up(
        advisor,
        {"kind": "phone", "outcome": "callback", "next_step": "确认试听时间", "next_follow_up_at": when},
        lead_id=lead,
    )
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    await enqueue("remind_due_follow_ups", job_id="early")
    await run_worker_burst(ctx={"clock": FrozenClock(now + timedelta(hours=1))})
    assert await _count(advisor.id, "lead_follow_up_due") == 0

    late = FrozenClock(now + timedelta(hours=3))
    for n in range(2):  # the job runs twice
        await enqueue("remind_due_follow_ups", job_id=f"late-{n}")
        worker = await run_worker_burst(ctx={"clock": late})
        assert worker.jobs_failed == 0
    notes = await Notification.select().where(Notification.kind == "lead_follow_up_due")
    assert len(notes) == 1 and notes[0]["recipient"] == advisor.id
    assert "韩梅梅" in notes[0]["title"] and notes[0]["body"] == "确认试听时间"
    assert notes[0]["link"] == f"/leads/{lead}"
    assert (await FollowUp.select(FollowUp.reminder).first())["reminder"] == "sent"
    await close_pool()


async def test_a_newer_plan_replaces_the_older_reminder_and_pool_leads_remind_nobody(make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor.id)
    now = system_clock.now()
    for hours in (1, 5):
        await follow_ups.add_follow_up(
            advisor,
            {"kind": "wechat", "note": "加了微信", "next_follow_up_at": (now + timedelta(hours=hours)).isoformat()},
            lead_id=lead,
        )
    assert await follow_ups.remind_due(FrozenClock(now + timedelta(hours=2))) == 0
    assert await follow_ups.remind_due(FrozenClock(now + timedelta(hours=6))) == 1
    pooled = await make_lead(None)
    await follow_ups.add_follow_up(
        advisor,
        {"kind": "sms", "note": "发了短信", "next_follow_up_at": (now + timedelta(hours=1)).isoformat()},
        lead_id=pooled,
    )
    assert await follow_ups.remind_due(FrozenClock(now + timedelta(hours=2))) == 0
    states = sorted(r["reminder"] for r in await FollowUp.select(FollowUp.reminder))
    assert states == ["sent", "skipped", "superseded"]


@contextmanager
def _workers(count: int, logs: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    try:
        for n in range(count):
            out = (logs / f"worker-{n}.log").open("w")
            procs.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", "arq", "tasks.worker.WorkerSettings"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    ),
                    out,
                )
            )
        yield [logs / f"worker-{n}.log" for n in range(count)]
    finally:
        for proc, out in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            out.close()


async def _reclaim_many(prefix: str, jobs: int) -> None:
    pool = await get_pool()
    queued = [await pool.enqueue_job("reclaim_leads", _job_id=f"{prefix}:{n}") for n in range(jobs)]
    await asyncio.gather(*(job.result(timeout=90, poll_delay=0.2) for job in queued))


async def test_two_workers_give_one_notice_and_one_return(make_user, tmp_path):
    admin = await make_user("admin")
    await pool_settings.save(admin, {"no_follow_up_days": "3"})
    owners = [await make_user("advisor") for _ in range(3)]
    leads = [await make_lead(o.id, created_at=system_clock.now() - timedelta(days=10)) for o in owners]
    await close_pool()
    with _workers(2, tmp_path) as logs:
        await _reclaim_many("notice", 8)
        assert [await _count(o.id, "lead_reclaim_notice") for o in owners] == [1, 1, 1]
        assert [await owner_of(lead) for lead in leads] == [o.id for o in owners]
        # A day later (the notices moved back a day): the leads return, each once.
        for notice in await LeadPoolNotice.select(LeadPoolNotice.id, LeadPoolNotice.created_at):
            await LeadPoolNotice.update({LeadPoolNotice.created_at: notice["created_at"] - timedelta(days=1)}).where(
                LeadPoolNotice.id == notice["id"]
            )
        await _reclaim_many("return", 8)
    assert all("reclaim_leads" in log.read_text() for log in logs), "both workers ran the job"
    assert [await owner_of(lead) for lead in leads] == [None, None, None]
    assert [await _count(o.id, "lead_reclaimed") for o in owners] == [1, 1, 1]
    assert [await _count(o.id, "lead_reclaim_notice") for o in owners] == [1, 1, 1]
    assert await Lead.count().where(Lead.owner.is_null()) == 3
    await close_pool()
