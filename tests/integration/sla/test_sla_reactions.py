"""Every ticket write keeps the ticket's SLA in step, inside its own transaction (real DB, FrozenClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.core.clock import FrozenClock
from app.sla import policies
from app.tickets import services
from app.tickets.intake import services as intake
from tables.sla.tables import SlaPolicy, TicketSla
from tables.tickets.tables import Ticket, TicketType
from tests.support import repair

T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def consultation(**kwargs):
    return services.Draft(type="consultation", title="三年级数学班咨询", fields={"course_interest": ["数学"]}, **kwargs)


async def _sla(ticket_id: int) -> dict:
    return await TicketSla.select().where(TicketSla.ticket == ticket_id).first().output(load_json=True)


async def _due_at(ticket_id: int):
    return (await Ticket.select(Ticket.due_at).where(Ticket.id == ticket_id).first())["due_at"]


async def test_seed_matches_the_issue_and_orders_priorities(make_user):
    types = {r["code"]: r["id"] for r in await TicketType.select(TicketType.id, TicketType.code)}
    policy = await SlaPolicy.select().where(SlaPolicy.ticket_type == types["consultation"])
    by_priority = {p["priority"]: p for p in policy}
    assert (by_priority["normal"]["first_response_minutes"], by_priority["normal"]["next_response_minutes"]) == (
        120,
        480,
    )
    complaint = (
        await SlaPolicy.select()
        .where((SlaPolicy.ticket_type == types["complaint"]) & (SlaPolicy.priority == "urgent"))
        .first()
    )
    assert complaint["first_response_minutes"] == 30
    for type_id in types.values():
        firsts = {
            p["priority"]: p["first_response_minutes"]
            for p in await SlaPolicy.select().where(SlaPolicy.ticket_type == type_id)
        }
        assert firsts["urgent"] < firsts["high"] < firsts["normal"] < firsts["low"]
    assert await policies.ensure_default_policies() == 0  # idempotent
    assert await SlaPolicy.count() == 24


async def test_creation_snapshots_the_policy_and_sets_due_at(make_user):
    agent = await make_user("customer_service")
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, consultation(), clock=clock)
    sla = await _sla(ticket["id"])
    assert sla["targets"]["normal"]["first_response"] == 120
    assert sla["targets"]["urgent"]["first_response"] == 30
    assert sla["paused_statuses"] == ["pending"]
    assert sla["first_response_due"] == T0 + timedelta(hours=2)
    assert sla["resolution_due"] == T0 + timedelta(minutes=1440)
    assert sla["next_response_due"] is None
    assert await _due_at(ticket["id"]) == T0 + timedelta(hours=2)
    # The scan's next point: the reminder 30 minutes before the first response is due... or the unclaimed
    # escalation (60 business minutes after creation), whichever is first.
    assert sla["scan_at"] == T0 + timedelta(minutes=60)


async def test_reply_pause_resume_priority_and_resolve_recompute_the_dues(make_user):
    agent = await make_user("customer_service")
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, consultation(), clock=clock)
    clock.advance(minutes=30)
    await services.add_message(agent, ticket["id"], "您好，已收到", public=True, clock=clock)
    assert await _due_at(ticket["id"]) == T0 + timedelta(minutes=1440)  # first response met
    clock.advance(minutes=30)
    await services.update_ticket(agent, ticket["id"], {"status": "pending"}, version=None, clock=clock)
    sla = await _sla(ticket["id"])
    assert sla["paused"] is True and sla["resolution_due"] is None
    assert await _due_at(ticket["id"]) is None
    clock.advance(hours=10)
    await services.update_ticket(agent, ticket["id"], {"status": "in_progress"}, version=None, clock=clock)
    assert await _due_at(ticket["id"]) == T0 + timedelta(minutes=1440 + 600)
    clock.advance(minutes=10)
    await services.update_ticket(agent, ticket["id"], {"priority": "urgent"}, version=None, clock=clock)
    # Urgent resolution: 360 business minutes; 70 used (60 before the pause, 10 after).
    assert await _due_at(ticket["id"]) == clock.now() + timedelta(minutes=360 - 70)
    await services.update_ticket(agent, ticket["id"], {"status": "resolved"}, version=None, clock=clock)
    assert await _due_at(ticket["id"]) is None
    sla = await _sla(ticket["id"])
    assert sla["scan_at"] is None and sla["resolution_due"] is None


async def test_requester_reply_through_intake_starts_next_response(make_user):
    agent = await make_user("customer_service")
    clock = FrozenClock(T0)
    ticket = await services.create_ticket(agent, consultation(), clock=clock)
    await services.add_message(agent, ticket["id"], "请问孩子几年级？", public=True, clock=clock)
    await services.update_ticket(agent, ticket["id"], {"status": "pending"}, version=None, clock=clock)
    clock.advance(hours=5)
    token = (await Ticket.select(Ticket.tracking_token).where(Ticket.id == ticket["id"]).first())["tracking_token"]
    await intake.add_requester_reply(token, "三年级", "10.0.0.1", clock=clock)
    sla = await _sla(ticket["id"])
    assert sla["paused"] is False
    assert sla["next_response_due"] == clock.now() + timedelta(minutes=480)
    assert sla["resolution_due"] == T0 + timedelta(hours=5, minutes=1440)
    assert await _due_at(ticket["id"]) == clock.now() + timedelta(minutes=480)


async def test_editing_a_policy_changes_new_tickets_only(make_user):
    admin = await make_user("admin")
    agent = await make_user("customer_service")
    clock = FrozenClock(T0)
    old = await services.create_ticket(agent, repair(), clock=clock)
    type_id = (await TicketType.select(TicketType.id).where(TicketType.code == "repair").first())["id"]
    saved = await policies.save_policy(
        admin,
        type_id,
        "normal",
        {
            "first_response_minutes": "20",
            "next_response_minutes": "60",
            "resolution_minutes": "600",
            "remind_before_minutes": "5",
            "escalate_unclaimed_minutes": "",
        },
        clock=clock,
    )
    assert saved["version"] == 2
    new = await services.create_ticket(agent, repair(), clock=clock)
    assert await _due_at(new["id"]) == T0 + timedelta(minutes=20)
    assert await _due_at(old["id"]) == T0 + timedelta(minutes=240)
    # A later write to the old ticket still uses its own snapshot.
    await services.update_ticket(agent, old["id"], {"title": "投影仪不亮（已换灯泡）"}, version=None, clock=clock)
    assert await _due_at(old["id"]) == T0 + timedelta(minutes=240)
    versions = (
        await SlaPolicy.select(SlaPolicy.version, SlaPolicy.is_active)
        .where((SlaPolicy.ticket_type == type_id) & (SlaPolicy.priority == "normal"))
        .order_by(SlaPolicy.version)
    )
    assert versions == [{"version": 1, "is_active": False}, {"version": 2, "is_active": True}]


async def test_a_type_without_policy_has_no_due(make_user):
    agent = await make_user("customer_service")
    await SlaPolicy.delete().where(SlaPolicy.id.is_not_null())
    ticket = await services.create_ticket(agent, repair(), clock=FrozenClock(T0))
    assert await _due_at(ticket["id"]) is None
    assert (await _sla(ticket["id"]))["targets"] == {}


async def test_due_follows_the_school_calendar(make_user):
    from app.calendars.defaults import ensure_default_calendar

    await ensure_default_calendar()  # Monday–Saturday 08:30–12:00 and 13:00–20:30, Sunday closed
    agent = await make_user("customer_service")
    shanghai = timezone(timedelta(hours=8))
    saturday_evening = datetime(2026, 12, 5, 20, 0, tzinfo=shanghai)
    ticket = await services.create_ticket(agent, consultation(), clock=FrozenClock(saturday_evening))
    # 30 minutes on Saturday, Sunday closed, the other 90 on Monday from 08:30.
    assert await _due_at(ticket["id"]) == datetime(2026, 12, 7, 10, 0, tzinfo=shanghai)
