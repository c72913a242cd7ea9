"""Ticket numbers are taken last in the creating transaction: unique and gap-free under concurrent
creation, never the stand-in outside that transaction, and in every notification of the creation."""

from __future__ import annotations

import asyncio

from app.core.db import UnitOfWork
from app.tickets import services
from app.tickets.numbering import PENDING_PREFIX
from tables.notifications.tables import Notification
from tables.tickets.tables import Ticket
from tests.support import repair
from tests.unit.approvals.school import make_school, open_refund, seeded_workflows


async def test_forty_concurrent_creations_get_forty_consecutive_numbers(make_user):
    desk = await make_user("customer_service")
    created = await asyncio.gather(*(services.create_ticket(desk, repair(f"教室 {n} 空调")) for n in range(40)))
    numbers = sorted(t["number"] for t in created)
    year = numbers[0].split("-")[1]
    assert numbers == [f"T-{year}-{n:06d}" for n in range(1, 41)]
    stored = {r["id"]: r["number"] for r in await Ticket.select(Ticket.id, Ticket.number)}
    assert stored == {t["id"]: t["number"] for t in created}  # what each caller got is what was stored


async def test_a_creation_that_rolls_back_takes_no_number(make_user):
    desk = await make_user("customer_service")
    first = await services.create_ticket(desk, repair())

    class Abandon(Exception):
        pass

    original = UnitOfWork._react

    async def failing_react(self):  # a reaction that refuses the write, after the ticket row exists
        await original(self)
        raise Abandon

    UnitOfWork._react = failing_react
    try:
        try:
            await services.create_ticket(desk, repair("会被回滚"))
        except Abandon:
            pass
        else:
            raise AssertionError("the creation should have been rolled back")
    finally:
        UnitOfWork._react = original
    second = await services.create_ticket(desk, repair())
    assert int(second["number"][-6:]) == int(first["number"][-6:]) + 1
    assert await Ticket.count() == 2
    assert not await Ticket.exists().where(Ticket.number.like(PENDING_PREFIX + "%"))


async def test_notifications_made_while_creating_carry_the_real_number(make_user):
    desk = await make_user("customer_service")
    teacher = await make_user("teacher")
    assigned = await services.create_ticket(desk, repair(assignee_id=teacher.id))
    await seeded_workflows()  # the refund type starts its approval at the class teacher
    school = await make_school()
    refund = await open_refund(school)
    titles = [
        r["title"]
        for r in await Notification.select(Notification.title).where(
            Notification.kind.is_in(["ticket_assigned", "approval_request"])
        )
    ]
    assert f"{assigned['number']} {assigned['title']}" in titles
    assert any(t.startswith(refund["number"] + " ") for t in titles), (refund["number"], titles)
    assert not any(PENDING_PREFIX in t for t in titles)
