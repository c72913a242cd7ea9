"""The assignment jobs through a real arq worker (burst mode) against the test Redis."""

from __future__ import annotations

from arq.worker import func

from app.assignment import presence
from app.core.jobs import close_pool, enqueue
from app.tickets import services as tickets
from app.tickets.types.defaults import ensure_default_types
from tables.assignment.tables import AssignmentDecision, StaffSkill
from tables.tickets.tables import Ticket, TicketActivity
from tasks.worker import WorkerSettings
from tests.support import repair, run_worker_burst


async def test_the_creation_job_and_a_duplicate_assign_once(make_user):
    await ensure_default_types()
    desk = await make_user("admin")
    agent = await make_user("customer_service")
    await StaffSkill.insert(StaffSkill(user=agent.id, kind="type", value="repair"))  # no calendar: always on shift
    await presence.mark_online(agent.id, "tab")
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    ticket = await tickets.create_ticket(desk, repair())  # its reaction enqueues the window job assign:<n>
    await enqueue("assign_ticket", ticket["id"], job_id=f"again:{ticket['id']}")  # a duplicate delivery

    worker = await run_worker_burst()

    assert worker.jobs_complete == 2 and worker.jobs_failed == 0
    row = await Ticket.select(Ticket.assignee, Ticket.status).where(Ticket.id == ticket["id"]).first()
    assert row == {"assignee": agent.id, "status": "assigned"}
    assert await TicketActivity.count().where(TicketActivity.kind == "assign") == 1
    assert await AssignmentDecision.count() == 1


async def test_the_worker_registers_the_sweeper_every_ten_seconds():
    sweeps = [c for c in WorkerSettings.cron_jobs if c.coroutine.__name__ == "sweep_unassigned"]
    assert len(sweeps) == 1 and sweeps[0].second == set(range(0, 60, 10))
    assert "assign_ticket" in {func(f).name for f in WorkerSettings.functions}  # plain or wrapped in arq.func


async def test_a_burst_shares_a_few_window_jobs_that_decide_every_ticket(make_user):
    import time

    from app.assignment.reactions import COALESCE_MS

    await ensure_default_types()
    desk = await make_user("admin")
    agents = [await make_user("customer_service") for _ in range(3)]
    for agent in agents:
        await StaffSkill.insert(StaffSkill(user=agent.id, kind="type", value="repair"))
        await presence.mark_online(agent.id, "tab")
    await close_pool()
    started = time.monotonic()
    created = [await tickets.create_ticket(desk, repair(f"教室 {n} 投影仪")) for n in range(12)]
    windows = int((time.monotonic() - started) * 1000 / COALESCE_MS) + 2  # windows the burst touched, at most

    worker = await run_worker_burst()

    assert worker.jobs_failed == 0 and 1 <= worker.jobs_complete <= windows < 12
    rows = await Ticket.select(Ticket.assignee).where(Ticket.id.is_in([t["id"] for t in created]))
    loads = [sum(r["assignee"] == a.id for r in rows) for a in agents]
    assert sum(loads) == 12 and max(loads) - min(loads) <= 1  # all assigned, evenly
    assert await AssignmentDecision.count() == 12
