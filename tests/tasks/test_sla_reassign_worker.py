"""An SLA breach hands the ticket to someone else: the scan enqueues reassign_ticket once (the job id
is the breach's own), and a real arq worker (burst mode) reassigns the ticket."""

from __future__ import annotations

from datetime import timedelta

from app.assignment import presence
from app.core.clock import FrozenClock, system_clock
from app.core.i18n import gettext
from app.core.jobs import close_pool
from app.core.redis import get_redis
from app.sla.policies import ensure_default_policies
from app.sla.scan import scan
from app.tickets import services as tickets
from app.tickets.types.defaults import ensure_default_types
from tables.sla.tables import SlaAction
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import run_worker_burst
from tests.unit.assignment.staffing import agent


async def test_a_breach_reassigns_the_ticket_once_through_the_worker(make_user):
    await ensure_default_types()
    await ensure_default_policies()
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    now = FrozenClock(system_clock.now())
    first = await agent(now, ("type", "consultation"))
    second = await agent(now, ("type", "consultation"))
    desk = await make_user("admin")
    draft = tickets.Draft(
        type="consultation", title="咨询暑期班", fields={"course_interest": ["数学"]}, assignee_id=first.id
    )
    # Assigned three hours ago and never answered: the 120-minute first response is missed.
    ticket = await tickets.create_ticket(desk, draft, clock=FrozenClock(now.now() - timedelta(hours=3)))
    await get_redis().flushdb()  # drop the creation's own jobs: only the scan's are left
    await _online_again(first, second, now)

    assert (await scan(now))["breach"] == 1
    [breach] = await SlaAction.select(SlaAction.rule, SlaAction.due_key).where(SlaAction.rule.like("breach:%"))
    job_key = f"arq:job:reassign:{ticket['id']}:{breach['rule']}:{breach['due_key']}"
    assert await get_redis().exists(job_key)
    assert await scan(now) == {}  # acted once: no second job
    assert [k async for k in get_redis().scan_iter("arq:job:reassign:*")] == [job_key]

    worker = await run_worker_burst()
    assert worker.jobs_failed == 0
    row = await Ticket.select(Ticket.assignee).where(Ticket.id == ticket["id"]).first()
    assert row["assignee"] == second.id
    moves = (
        await TicketActivity.select(TicketActivity.changes)
        .where((TicketActivity.ticket == ticket["id"]) & (TicketActivity.kind == "assign"))
        .output(load_json=True)
    )
    assert moves[-1]["changes"]["assignee"] == [first.id, second.id]
    assert moves[-1]["changes"]["escalation"] == gettext("a service-level target was missed")
    await close_pool()


async def _online_again(first, second, clock) -> None:
    """The flush above also dropped who is online (kept in Redis)."""
    for person in (first, second):
        await presence.mark_online(person.id, f"tab-{person.id}", clock)
