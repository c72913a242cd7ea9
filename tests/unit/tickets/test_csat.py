"""Satisfaction ratings: signed links per resolution, low scores reopen and alert supervisors."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from app.core.clock import FrozenClock
from app.core.errors import NotFound, ValidationFailed
from app.core.events import Audience, Event
from app.settings import get_settings
from app.tickets import services
from app.tickets.intake import csat
from app.tickets.services import Draft
from tables.notifications.tables import Notification
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import make_campus


@contextlib.asynccontextmanager
async def listening():
    settings = get_settings().redis
    client = aioredis.Redis.from_url(settings.url, decode_responses=True)
    pubsub = client.pubsub()
    await pubsub.subscribe(settings.events_channel)
    await pubsub.get_message(timeout=1)
    try:
        yield pubsub
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _resolved_ticket(make_user, campus: int | None = None, clock: FrozenClock | None = None) -> tuple:
    clock = clock or FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    agent = await make_user("customer_service", campus=campus)
    draft = Draft(type="repair", title="空调漏水", fields={"location": "201", "equipment": "空调"}, campus_id=campus)
    ticket = await services.create_ticket(agent, draft, clock=clock)
    clock.advance(hours=2)
    resolved = await services.update_ticket(agent, ticket["id"], {"status": "resolved"}, version=None, clock=clock)
    return agent, resolved


async def _events(pubsub) -> list[Event]:
    events = []
    while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3):
        events.append(Event.from_json(message["data"]))
    return events


def _signature(ticket: dict) -> str:
    return csat.rating_link(ticket).rsplit("/", 1)[1]


async def test_the_link_is_signed_and_a_forged_one_is_refused(make_user):
    _agent, ticket = await _resolved_ticket(make_user)
    link = csat.rating_link(ticket)
    assert link.startswith(f"/csat/{ticket['id']}/")
    assert (await csat.ticket_for_link(ticket["id"], _signature(ticket)))["id"] == ticket["id"]
    forged = _signature(ticket)[:-2] + ("AA" if not _signature(ticket).endswith("AA") else "BB")
    for ticket_id, signature in [(ticket["id"], forged), (ticket["id"], ""), (ticket["id"] + 1, _signature(ticket))]:
        with pytest.raises(NotFound):
            await csat.ticket_for_link(ticket_id, signature)


async def test_an_unresolved_ticket_has_no_link(make_user):
    agent = await make_user("customer_service")
    ticket = await services.create_ticket(
        agent, Draft(type="repair", title="灯坏了", fields={"location": "1", "equipment": "其他"})
    )
    assert csat.rating_link(ticket) is None


async def test_reopening_and_resolving_again_retires_the_old_link(make_user):
    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    agent, first = await _resolved_ticket(make_user, clock=clock)
    old_signature = _signature(first)
    clock.advance(hours=1)
    reopened = await services.update_ticket(agent, first["id"], {"status": "in_progress"}, version=None, clock=clock)
    with pytest.raises(NotFound):
        await csat.ticket_for_link(first["id"], old_signature)  # not resolved at all now
    clock.advance(hours=1)
    again = await services.update_ticket(
        agent, first["id"], {"status": "resolved"}, version=reopened["version"], clock=clock
    )
    assert _signature(again) != old_signature
    with pytest.raises(NotFound):
        await csat.rate(first["id"], old_signature, "5", "")
    assert (await csat.ticket_for_link(first["id"], _signature(again)))["id"] == first["id"]
    assert (await Ticket.select(Ticket.csat_score).first())["csat_score"] is None


async def test_a_low_score_reopens_and_notifies_the_campus_supervisor(make_user):
    north, south = await make_campus("北区"), await make_campus("南区")
    north_boss = await make_user("supervisor", campus=north)
    south_boss = await make_user("supervisor", campus=south)
    _agent, ticket = await _resolved_ticket(make_user, campus=north)
    async with listening() as pubsub:
        result = await csat.rate(ticket["id"], _signature(ticket), "2", "修完第二天又漏水")
        events = await _events(pubsub)
    assert result["reopened"] is True and result["status"] == "in_progress"
    stored = await Ticket.select(
        Ticket.status, Ticket.csat_score, Ticket.csat_comment, Ticket.resolved_at, Ticket.version
    ).first()
    assert stored == {
        "status": "in_progress",
        "csat_score": 2,
        "csat_comment": "修完第二天又漏水",
        "resolved_at": None,
        "version": ticket["version"] + 1,
    }
    activities = (
        await TicketActivity.select(TicketActivity.kind, TicketActivity.changes, TicketActivity.actor)
        .where(TicketActivity.kind.is_in(["csat", "status"]))
        .order_by(TicketActivity.id)
        .output(load_json=True)
    )
    assert activities[-2:] == [
        {"kind": "csat", "changes": {"score": [None, 2], "by": "requester"}, "actor": None},
        {
            "kind": "status",
            "changes": {"status": ["resolved", "in_progress"], "reason": "low_csat", "by": "requester"},
            "actor": None,
        },
    ]
    notified = await Notification.select(Notification.recipient, Notification.kind, Notification.link)
    assert notified == [{"recipient": north_boss.id, "kind": "ticket_low_csat", "link": f"/tickets/{ticket['id']}"}]
    assert south_boss.id not in {n["recipient"] for n in notified}
    # The rating link of that resolution is spent: the ticket is no longer resolved.
    with pytest.raises(NotFound):
        await csat.rate(ticket["id"], _signature(ticket), "5", "")
    # After commit: the supervisor's notification and the ticket change, for live updates.
    assert [e.name for e in events] == ["notification.created", "ticket.updated"]
    assert events[0].audience == Audience.user(north_boss.id)
    # The ticket change goes to whoever may see the ticket (resolved by the web processes).
    assert events[1].audience.records == (("ticket", ticket["id"]),)
    changed = events[1].payload
    assert (changed["id"], changed["status"], changed["old_status"], changed["fields"]) == (
        ticket["id"],
        "in_progress",
        "resolved",
        ["csat", "status"],
    )


async def test_without_a_campus_supervisor_every_supervisor_hears_of_it(make_user):
    campus = await make_campus()
    bosses = [await make_user("supervisor"), await make_user("supervisor", campus=await make_campus())]
    _agent, ticket = await _resolved_ticket(make_user, campus=campus)
    await csat.rate(ticket["id"], _signature(ticket), "1", "")
    recipients = sorted(n["recipient"] for n in await Notification.select(Notification.recipient))
    assert recipients == sorted(b.id for b in bosses)


async def test_a_high_score_keeps_the_ticket_resolved_and_tells_nobody(make_user):
    await make_user("supervisor")
    _agent, ticket = await _resolved_ticket(make_user)
    async with listening() as pubsub:
        result = await csat.rate(ticket["id"], _signature(ticket), "5", "很快就修好了")
        events = await _events(pubsub)
    assert result["reopened"] is False
    assert [(e.name, e.payload["status"], e.payload["fields"]) for e in events] == [
        ("ticket.updated", "resolved", ["csat"])
    ]
    stored = await Ticket.select(Ticket.status, Ticket.csat_score, Ticket.resolved_at, Ticket.csat_at).first()
    assert stored["status"] == "resolved" and stored["csat_score"] == 5 and stored["resolved_at"] is not None
    assert stored["csat_at"] is not None
    assert await Notification.count() == 0
    # Changing the rating is allowed while the ticket stays resolved.
    await csat.rate(ticket["id"], _signature(ticket), "4", "")
    assert (await Ticket.select(Ticket.csat_score).first())["csat_score"] == 4
    kinds = [a["kind"] for a in await TicketActivity.select(TicketActivity.kind).order_by(TicketActivity.id)]
    assert kinds.count("csat") == 2 and kinds.count("status") == 1  # only the resolution itself


async def test_a_closed_ticket_takes_a_first_rating_but_no_changes(make_user):
    agent, ticket = await _resolved_ticket(make_user)
    closed = await services.update_ticket(agent, ticket["id"], {"status": "closed"}, version=None)
    signature = _signature(closed)
    assert signature == _signature(ticket)  # closing keeps the resolution, and its link
    await csat.rate(ticket["id"], signature, "3", "")
    with pytest.raises(ValidationFailed) as caught:
        await csat.rate(ticket["id"], signature, "5", "")
    assert "score" in caught.value.by_field()
    assert (await Ticket.select(Ticket.csat_score, Ticket.status).first()) == {"csat_score": 3, "status": "closed"}


@pytest.mark.parametrize(
    ("score", "comment", "field"),
    [("0", "", "score"), ("6", "", "score"), ("", "", "score"), ("abc", "", "score"), ("4", "长" * 2001, "comment")],
)
async def test_bad_input_names_the_field_and_stores_nothing(make_user, score, comment, field):
    _agent, ticket = await _resolved_ticket(make_user)
    with pytest.raises(ValidationFailed) as caught:
        await csat.rate(ticket["id"], _signature(ticket), score, comment)
    assert set(caught.value.by_field()) == {field}
    assert (await Ticket.select(Ticket.csat_score, Ticket.version).first()) == {
        "csat_score": None,
        "version": ticket["version"],
    }
