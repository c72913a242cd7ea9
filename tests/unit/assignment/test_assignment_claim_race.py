"""Claiming from the queue is atomic: 50 people claiming 10 tickets at once, each ticket one owner."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from app.core.errors import Conflict
from app.tickets import services
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import repair


async def test_fifty_people_claiming_ten_tickets_at_once_give_each_ticket_exactly_one_owner(make_user):
    desk = await make_user("admin")
    claimers = [await make_user("customer_service") for _ in range(50)]
    ids = [(await services.create_ticket(desk, repair(title=f"排队 {i}")))["id"] for i in range(10)]
    rng = random.Random(4)

    async def claim_all(person) -> list[tuple[int, int]]:
        won = []
        for ticket_id in rng.sample(ids, len(ids)):
            try:
                await services.claim_ticket(person, ticket_id)
                won.append((ticket_id, person.id))
            except Conflict:
                pass  # the only failure allowed: someone else was first
        return won

    results = await asyncio.gather(*(claim_all(p) for p in claimers))  # any other exception fails the test

    wins = [w for person in results for w in person]
    assert sorted(t for t, _ in wins) == sorted(ids)  # each ticket won exactly once
    rows = await Ticket.select(Ticket.id, Ticket.assignee, Ticket.status).where(Ticket.id.is_in(ids))
    assert {r["id"]: r["assignee"] for r in rows} == dict(wins)
    assert {r["status"] for r in rows} == {"assigned"}
    assert Counter(
        r["ticket"] for r in await TicketActivity.select(TicketActivity.ticket).where(TicketActivity.kind == "assign")
    ) == Counter(dict.fromkeys(ids, 1))
