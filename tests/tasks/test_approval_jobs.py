"""The overdue-approval reminder through a real arq worker, and its exactly-once rule."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.approvals import services
from app.core.clock import FrozenClock
from app.core.jobs import close_pool, enqueue
from tables.approvals.tables import ApprovalInstance
from tables.notifications.tables import Notification
from tests.support import run_worker_burst


async def _school_with_an_overdue_step():
    from tests.unit.approvals.school import make_school, open_refund, seeded_workflows

    await seeded_workflows()
    school = await make_school()
    ticket = await open_refund(school)  # created on a fixed Wednesday (FrozenClock)
    instance = await services.instance_for(ticket["id"])
    return school, ticket, instance


async def reminders(user_id: int) -> int:
    return await Notification.count().where(
        (Notification.recipient == user_id) & (Notification.kind == "approval_overdue")
    )


async def test_the_worker_reminds_the_approver_once():
    school, _ticket, instance = await _school_with_an_overdue_step()
    await ApprovalInstance.update(
        {ApprovalInstance.step_due_at: instance["step_entered_at"] - timedelta(days=1000)}
    ).where(ApprovalInstance.id == instance["id"])  # already long overdue by the real clock the worker uses
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    await enqueue("remind_overdue_approvals", job_id="approvals-reminder-1")
    await enqueue("remind_overdue_approvals", job_id="approvals-reminder-2")
    worker = await run_worker_burst()

    assert (
        worker.jobs_complete >= 2 and worker.jobs_failed == 0
    )  # (creating the ticket may enqueue other domains' jobs)
    assert await reminders(school.class_teacher.id) == 1


async def test_reminders_wait_for_the_due_time_and_come_again_at_the_next_step():
    school, ticket, instance = await _school_with_an_overdue_step()
    due = instance["step_due_at"]
    assert await services.remind_overdue(FrozenClock(due - timedelta(minutes=1))) == 0
    late = FrozenClock(due + timedelta(minutes=1))
    results = await asyncio.gather(services.remind_overdue(late), services.remind_overdue(late))  # two workers at once
    assert sorted(results) == [0, 1] and await reminders(school.class_teacher.id) == 1

    moved = await services.decide(school.class_teacher, ticket["id"], "approve", clock=late)
    assert await services.remind_overdue(FrozenClock(moved["step_due_at"] + timedelta(minutes=1))) == 1
    assert await reminders(school.supervisor.id) == 1
    assert await services.remind_overdue(FrozenClock(moved["step_due_at"] + timedelta(hours=5))) == 0
