"""Exactly once with real workers: two arq worker processes scan the same DB and Redis at once, then a
fresh worker (a restart) scans again; every rule is acted on once per ticket."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.core.clock import FrozenClock, system_clock
from app.core.jobs import close_pool, get_pool
from app.sla.policies import ensure_default_policies
from app.tickets import services
from app.tickets.types.defaults import ensure_default_types
from tables.notifications.tables import Notification
from tables.sla.tables import SlaAction
from tables.tickets.tables import TicketActivity, TicketType
from tests.support import make_campus, make_team, worker_processes

TICKETS = 12


async def _scan_many(prefix: str, jobs: int) -> None:
    """Enqueue `jobs` scans at once (the workers race for them) and wait until all have run."""
    pool = await get_pool()
    queued = [await pool.enqueue_job("sla_scan", _job_id=f"{prefix}:{n}") for n in range(jobs)]
    await asyncio.gather(*(job.result(timeout=90, poll_delay=0.2) for job in queued))


async def _counts() -> dict:
    kinds = await Notification.select(Notification.kind, Notification.recipient).where(
        Notification.kind.is_in(["sla_breach", "sla_reminder", "ticket_escalated"])
    )
    activities = (
        await TicketActivity.select(TicketActivity.ticket, TicketActivity.changes)
        .where(TicketActivity.kind == "sla")
        .output(load_json=True)
    )
    return {
        "notifications": sorted((n["kind"], n["recipient"]) for n in kinds),
        "activities": sorted((a["ticket"], a["changes"]["sla"], a["changes"].get("target", "")) for a in activities),
        "actions": await SlaAction.count(),
    }


async def test_two_workers_and_a_restart_act_once_per_ticket_and_rule(make_user, tmp_path):
    await ensure_default_types()
    await ensure_default_policies()
    campus = await make_campus()
    leader = await make_user("customer_service", campus=campus)
    desk = await make_team("前台", leader=leader.id, campus=campus)
    await TicketType.update({TicketType.team: desk}).where(TicketType.code == "consultation")
    # Created three hours ago: unclaimed for 60 minutes and past the 120-minute first response.
    clock = FrozenClock(system_clock.now() - timedelta(hours=3))
    ids = []
    for n in range(TICKETS):
        draft = services.Draft(
            type="consultation", title=f"咨询 {n}", fields={"course_interest": ["数学"]}, campus_id=campus
        )
        ids.append((await services.create_ticket(None, draft, clock=clock))["id"])

    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    with worker_processes(2, tmp_path) as logs:
        await _scan_many("race", 16)
    assert all("sla_scan" in log.read_text() for log in logs), "both workers ran scans"
    after_race = await _counts()
    expected_activities = sorted(
        [(t, "escalate_unclaimed", "") for t in ids] + [(t, "breach", "first_response") for t in ids]
    )
    assert after_race["activities"] == expected_activities
    assert after_race["notifications"] == sorted(
        [("sla_breach", leader.id)] * TICKETS + [("ticket_escalated", leader.id)] * TICKETS
    )

    restart = tmp_path / "restart"
    restart.mkdir()
    with worker_processes(1, restart):  # a restarted worker
        await _scan_many("restart", 4)
    assert await _counts() == after_race
    await close_pool()
