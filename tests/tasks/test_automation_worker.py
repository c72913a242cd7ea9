"""Automation through a real arq worker (burst mode) against the test Redis and database: the job a
ticket write enqueues runs the rules; with the job lost (Redis flushed) the sweeper runs them, once."""

from __future__ import annotations

from datetime import timedelta

from arq import cron
from arq.worker import func

from app.automation import services
from app.core.clock import FrozenClock, system_clock
from app.core.jobs import close_pool, enqueue
from app.core.redis import get_redis
from app.tickets import services as tickets
from app.tickets.types.defaults import ensure_default_types
from tables.automation.tables import AutomationRun, AutomationTrigger, ReplyTemplate
from tables.tickets.tables import Ticket, TicketActivity, TicketTag
from tasks.automation import sweep_automation
from tasks.worker import WorkerSettings
from tests.support import repair, run_worker_burst


async def _rule(admin) -> dict:
    template = (
        await ReplyTemplate.insert(ReplyTemplate(name="已收到", body="{number} 已收到")).returning(ReplyTemplate.id)
    )[0]["id"]
    return await services.save_rule(
        admin,
        None,
        {
            "name": "报修加急",
            "trigger": "created",
            "conditions": [{"subject": "type", "op": "is", "value": "repair"}],
            "actions": [
                {"kind": "set_priority", "value": "urgent"},
                {"kind": "add_tag", "value": "报修"},
                {"kind": "reply_template", "value": template},
            ],
        },
    )


async def _effects(ticket_id: int) -> dict:
    ticket = await Ticket.select(Ticket.priority).where(Ticket.id == ticket_id).first()
    return {
        "priority": ticket["priority"],
        "tags": [r["tag"] for r in await TicketTag.select(TicketTag.tag).where(TicketTag.ticket == ticket_id)],
        "replies": await TicketActivity.count().where(
            (TicketActivity.ticket == ticket_id) & (TicketActivity.kind == "reply")
        ),
        "logs": await TicketActivity.count().where(
            (TicketActivity.ticket == ticket_id) & (TicketActivity.kind == "automation")
        ),
        "runs": [(r["outcome"]) for r in await AutomationRun.select(AutomationRun.outcome)],
        "triggers": [r["status"] for r in await AutomationTrigger.select(AutomationTrigger.status)],
    }


def _sweeper() -> list:
    """A fresh cron entry per worker: arq keeps the next run time on the object itself."""
    return [cron(sweep_automation, second=set(range(5, 60, 10)), run_at_startup=True)]


ONCE = {"priority": "urgent", "tags": ["报修"], "replies": 1, "logs": 1, "runs": ["done"], "triggers": ["done"]}


async def test_the_job_a_ticket_write_enqueues_runs_the_rules(make_user):
    await ensure_default_types()
    admin = await make_user("admin")
    await _rule(admin)
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    ticket = await tickets.create_ticket(admin, repair(priority="low"))
    [trigger] = await AutomationTrigger.select(AutomationTrigger.id, AutomationTrigger.status)
    assert trigger["status"] == "pending"
    assert await get_redis().exists(f"arq:job:automation:{trigger['id']}")  # enqueued after the commit

    worker = await run_worker_burst()
    assert worker.jobs_failed == 0
    assert await _effects(ticket["id"]) == ONCE

    # A duplicate delivery of the job (arq may run a job twice) changes nothing.
    await enqueue("run_automation", trigger["id"], job_id=f"again:{trigger['id']}")
    await run_worker_burst()
    assert await _effects(ticket["id"]) == ONCE
    await close_pool()


async def test_with_the_job_lost_the_sweeper_runs_the_trigger_once(make_user):
    await ensure_default_types()
    admin = await make_user("admin")
    await _rule(admin)
    await close_pool()
    ticket = await tickets.create_ticket(admin, repair(priority="low"))
    await get_redis().flushdb()  # the job is gone, as after a Redis restart without persistence

    idle = await run_worker_burst()
    assert idle.jobs_complete == 0
    assert (await _effects(ticket["id"]))["triggers"] == ["pending"]

    # A trigger younger than 5 s is left to its own job (which may just be slow), not swept.
    await run_worker_burst(cron_jobs=_sweeper(), ctx={"clock": FrozenClock(system_clock.now())})
    assert (await _effects(ticket["id"]))["triggers"] == ["pending"]

    later = FrozenClock(system_clock.now() + timedelta(seconds=10))
    swept = await run_worker_burst(cron_jobs=_sweeper(), ctx={"clock": later})
    assert swept.jobs_failed == 0
    assert await _effects(ticket["id"]) == ONCE

    # Another sweep, and the original job arriving late after all: nothing runs twice.
    [trigger] = await AutomationTrigger.select(AutomationTrigger.id)
    await enqueue("run_automation", trigger["id"], job_id=f"automation:{trigger['id']}")
    await run_worker_burst(cron_jobs=_sweeper(), ctx={"clock": later})
    assert await _effects(ticket["id"]) == ONCE
    await close_pool()


async def test_triggers_caused_by_rules_are_run_by_the_worker_alongside(make_user):
    """The created rule's changes fire "updated" and "status_changed"; the worker runs those jobs
    concurrently with the rest of the first one, on the same ticket, and no change is lost."""
    await ensure_default_types()
    admin = await make_user("admin")
    agent = await make_user("customer_service")
    busy = [{"kind": "assign_person", "value": agent.id}, {"kind": "set_priority", "value": "urgent"}]
    busy += [{"kind": "add_tag", "value": f"t{i}"} for i in range(6)]
    await services.save_rule(admin, None, {"name": "报修", "trigger": "created", "actions": busy})
    for trigger, tag in (("updated", "已更新"), ("status_changed", "状态变了")):
        await services.save_rule(
            admin, None, {"name": tag, "trigger": trigger, "actions": [{"kind": "add_tag", "value": tag}]}
        )
    await close_pool()
    ticket = await tickets.create_ticket(admin, repair(priority="low"))

    worker = await run_worker_burst()
    assert worker.jobs_failed == 0
    runs = await AutomationRun.select(AutomationRun.outcome, AutomationRun.log).output(load_json=True)
    assert {r["outcome"] for r in runs} <= {"done", "skipped_loop"}, [r["log"] for r in runs]
    assert {r["status"] for r in await AutomationTrigger.select(AutomationTrigger.status)} == {"done"}
    effects = await _effects(ticket["id"])
    assert effects["priority"] == "urgent"
    assert sorted(effects["tags"]) == sorted([*(f"t{i}" for i in range(6)), "已更新", "状态变了"])
    assert (await Ticket.select(Ticket.assignee).where(Ticket.id == ticket["id"]).first())["assignee"] == agent.id
    await close_pool()


def test_the_worker_registers_the_job_and_the_sweeper():
    assert "run_automation" in {func(f).name for f in WorkerSettings.functions}
    [sweep] = [c for c in WorkerSettings.cron_jobs if c.coroutine.__name__ == "sweep_automation"]
    assert sweep.run_at_startup and len(sweep.second) == 6
