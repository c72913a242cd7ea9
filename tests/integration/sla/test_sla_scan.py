"""The SLA scan against the real database with a FrozenClock: remind, escalate, breach, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.clock import FrozenClock
from app.sla.scan import scan
from app.tickets import services
from tables.notifications.tables import Notification
from tables.sla.tables import SlaAction, TicketSla
from tables.tickets.tables import TicketActivity, TicketType
from tests.support import make_campus, make_team

T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


async def _setup(make_user):
    """A campus; a desk team led by a leader, under a department led by its head; an agent; a supervisor."""
    campus = await make_campus()
    head = await make_user("supervisor", campus=campus)
    department = await make_team("教务部", leader=head.id, campus=campus)
    leader = await make_user("customer_service", campus=campus)
    desk = await make_team("前台", leader=leader.id, parent=department, campus=campus)
    agent = await make_user("customer_service", team=desk, campus=campus)
    await TicketType.update({TicketType.team: desk}).where(TicketType.code == "consultation")
    return campus, head, leader, agent


def _draft(campus: int, **kwargs):
    return services.Draft(
        type="consultation", title="咨询暑期班", fields={"course_interest": ["数学"]}, campus_id=campus, **kwargs
    )


async def _notifications(kind: str) -> list[dict]:
    return await Notification.select(Notification.recipient, Notification.kind).where(Notification.kind == kind)


async def _sla_activities(ticket_id: int) -> list[dict]:
    rows = (
        await TicketActivity.select(TicketActivity.changes, TicketActivity.created_at)
        .where((TicketActivity.ticket == ticket_id) & (TicketActivity.kind == "sla"))
        .order_by(TicketActivity.id)
        .output(load_json=True)
    )
    return rows


async def test_unclaimed_ticket_escalates_to_the_team_leader_once(make_user):
    campus, _head, leader, _agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(None, _draft(campus), clock=clock)
    clock.advance(minutes=59)
    assert await scan(clock) == {}
    clock.advance(minutes=1)  # escalate_unclaimed for consultation/normal is 60 business minutes
    assert await scan(clock) == {"escalate": 1}
    assert await scan(clock) == {}
    assert await _notifications("ticket_escalated") == [{"recipient": leader.id, "kind": "ticket_escalated"}]
    [activity] = await _sla_activities(ticket["id"])
    assert activity["changes"] == {"sla": "escalate_unclaimed", "to": [leader.id]}


async def test_claimed_ticket_is_not_escalated(make_user):
    campus, _head, _leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(None, _draft(campus), clock=clock)
    clock.advance(minutes=30)
    await services.claim_ticket(agent, ticket["id"], clock=clock)
    clock.advance(minutes=40)
    assert "escalate" not in await scan(clock)
    assert await _notifications("ticket_escalated") == []


async def test_assignee_is_reminded_before_the_breach_then_the_chain_hears_of_it(make_user):
    campus, head, leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, _draft(campus, assignee_id=agent.id), clock=clock)
    clock.advance(minutes=89)
    assert await scan(clock) == {}
    clock.advance(minutes=1)  # 30 minutes before the 120-minute first response
    assert await scan(clock) == {"remind": 1}
    reminder = (
        await Notification.select(Notification.recipient, Notification.body)
        .where(Notification.kind == "sla_reminder")
        .first()
    )
    assert reminder["recipient"] == agent.id and "12:00" in reminder["body"]  # 04:00 UTC in Shanghai
    clock.advance(minutes=30)
    assert await scan(clock) == {"breach": 1}
    assert await scan(clock) == {}
    # The agent's team is led by `leader`: the first leader up the chain who is not the assignee.
    assert await _notifications("sla_breach") == [{"recipient": leader.id, "kind": "sla_breach"}]
    [activity] = await _sla_activities(ticket["id"])
    assert activity["changes"]["sla"] == "breach" and activity["changes"]["target"] == "first_response"
    assert activity["created_at"] == T0 + timedelta(minutes=120)
    sla = await TicketSla.select(TicketSla.first_response_breached_at).first()
    assert sla["first_response_breached_at"] == T0 + timedelta(minutes=120)
    assert head.id not in {n["recipient"] for n in await _notifications("sla_breach")}


async def test_leader_who_is_the_assignee_escalates_to_the_next_leader_up(make_user):
    campus, head, leader, _agent = await _setup(make_user)
    clock = FrozenClock(T0)
    leader_user = await make_user("customer_service", campus=campus)
    await services.create_ticket(leader_user, _draft(campus, assignee_id=leader.id), clock=clock)
    clock.advance(minutes=121)
    assert (await scan(clock))["breach"] == 1
    # The leader has no team of their own here: the ticket team's chain minus the assignee → the head.
    assert await _notifications("sla_breach") == [{"recipient": head.id, "kind": "sla_breach"}]


async def test_pause_holds_the_breach_and_resume_brings_it_back(make_user):
    campus, _head, _leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, _draft(campus, assignee_id=agent.id), clock=clock)
    clock.advance(minutes=60)
    await services.update_ticket(agent, ticket["id"], {"status": "pending"}, version=None, clock=clock)
    clock.advance(hours=5)
    assert await scan(clock) == {}
    await services.update_ticket(agent, ticket["id"], {"status": "in_progress"}, version=None, clock=clock)
    clock.advance(minutes=59)
    assert await scan(clock) == {"remind": 1}
    clock.advance(minutes=1)
    assert await scan(clock) == {"breach": 1}


async def test_reply_in_time_means_no_breach(make_user):
    campus, _head, _leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, _draft(campus, assignee_id=agent.id), clock=clock)
    clock.advance(minutes=100)
    await services.add_message(agent, ticket["id"], "您好，我们周三联系您", public=True, clock=clock)
    clock.advance(minutes=30)
    assert await scan(clock) == {}
    assert await SlaAction.count() == 0


async def test_overdue_ticket_found_late_breaches_without_a_stale_reminder(make_user):
    campus, _head, _leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    await services.create_ticket(agent, _draft(campus, assignee_id=agent.id), clock=clock)
    clock.advance(hours=3)
    assert await scan(clock) == {"breach": 1}
    assert await _notifications("sla_reminder") == []
    assert await SlaAction.count() == 2  # the reminder is recorded as handled, so it never comes back
    assert (await TicketSla.select(TicketSla.scan_at).first())["scan_at"] == T0 + timedelta(minutes=1440 - 30)


async def test_breached_ticket_refreshes_live_and_each_next_response_round_is_its_own_rule(make_user):
    from app.tickets.intake import services as intake
    from tables.tickets.tables import Ticket

    campus, _head, _leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, _draft(campus, assignee_id=agent.id), clock=clock)
    await services.add_message(agent, ticket["id"], "收到", public=True, clock=clock)
    token = (await Ticket.select(Ticket.tracking_token).where(Ticket.id == ticket["id"]).first())["tracking_token"]
    for _round in range(2):
        clock.advance(minutes=1)
        await intake.add_requester_reply(token, "还在吗？", "10.0.0.2", clock=clock)
        clock.advance(minutes=481)
        assert (await scan(clock))["breach"] == 1
        await services.add_message(agent, ticket["id"], "抱歉久等", public=True, clock=clock)
    breaches = [a["changes"]["target"] for a in await _sla_activities(ticket["id"])]
    assert breaches == ["next_response", "next_response"]


async def test_late_answer_before_any_scan_still_shows_one_breach(make_user):
    campus, _head, _leader, agent = await _setup(make_user)
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, _draft(campus, assignee_id=agent.id), clock=clock)
    clock.advance(minutes=125)  # the first response was due at 120; no scan ran in between
    await services.add_message(agent, ticket["id"], "抱歉回复晚了", public=True, clock=clock)
    [entry] = await _sla_activities(ticket["id"])
    assert entry["changes"]["target"] == "first_response" and entry["created_at"] == clock.now()
    assert "breach" not in await scan(clock)
    await services.update_ticket(agent, ticket["id"], {"title": "咨询暑期班（已回复）"}, version=None, clock=clock)
    assert len(await _sla_activities(ticket["id"])) == 1
    sla = await TicketSla.select(TicketSla.first_response_breached_at).first()
    assert sla["first_response_breached_at"] == T0 + timedelta(minutes=120)
