"""Which writes record which triggers, and rules on each trigger acting on the real ticket: creation,
updates, status moves, satisfaction ratings (the real CSAT service) and the SLA scan's reminders and
breaches (driven with a FrozenClock, as tests/integration/sla does)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.automation import engine
from app.core.clock import FrozenClock
from app.sla.scan import scan
from app.tickets import services as tickets
from app.tickets.intake import csat
from tables.automation.tables import AutomationTrigger
from tables.notifications.tables import Notification
from tables.tickets.tables import Ticket, TicketType
from tests.support import make_campus, make_team, repair

T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Wednesday


async def _recorded(after: int = 0) -> list[tuple[int, str]]:
    rows = (
        await AutomationTrigger.select(AutomationTrigger.id, AutomationTrigger.ticket, AutomationTrigger.trigger)
        .where(AutomationTrigger.id > after)
        .order_by(AutomationTrigger.id)
    )
    return [(r["ticket"], r["trigger"]) for r in rows]


async def _last_trigger() -> int:
    row = await AutomationTrigger.select(AutomationTrigger.id).order_by(AutomationTrigger.id, ascending=False).first()
    return row["id"] if row else 0


async def test_each_write_records_the_triggers_it_fires(admin, make_rule, make_user, drain, automation):
    agent = await make_user("customer_service")
    for trigger in ("created", "updated", "status_changed"):
        await make_rule(trigger, [{"kind": "add_tag", "value": trigger.replace("_", "-")}])

    ticket = await tickets.create_ticket(admin, repair())
    assert await _recorded() == [(ticket["id"], "created")]
    mark = await _last_trigger()
    await tickets.update_ticket(admin, ticket["id"], {"title": "投影仪不亮了"}, version=None)
    assert await _recorded(mark) == [(ticket["id"], "updated")]
    mark = await _last_trigger()
    await tickets.add_message(admin, ticket["id"], "我们下午处理", public=True)
    assert await _recorded(mark) == [(ticket["id"], "updated")]
    mark = await _last_trigger()
    await tickets.claim_ticket(agent, ticket["id"])  # new -> assigned
    assert await _recorded(mark) == [(ticket["id"], "updated"), (ticket["id"], "status_changed")]
    status_trigger = (
        await AutomationTrigger.select(AutomationTrigger.payload)
        .where(AutomationTrigger.trigger == "status_changed")
        .first()
        .output(load_json=True)
    )
    assert (status_trigger["payload"]["old_status"], status_trigger["payload"]["status"]) == ("new", "assigned")

    await drain()
    assert await automation.tags(ticket["id"]) == {"created", "updated", "status-changed"}


async def test_a_status_rule_sees_the_new_status(admin, make_rule, drain, automation):
    await make_rule(
        "status_changed",
        [{"kind": "add_tag", "value": "已解决"}],
        conditions=[{"subject": "status", "op": "is", "value": "resolved"}],
    )
    ticket = await tickets.create_ticket(admin, repair())
    await tickets.update_ticket(admin, ticket["id"], {"status": "in_progress"}, version=None)
    await drain()
    assert await automation.tags(ticket["id"]) == set()
    await tickets.update_ticket(admin, ticket["id"], {"status": "resolved"}, version=None)
    await drain()
    assert await automation.tags(ticket["id"]) == {"已解决"}


async def _resolved(admin) -> dict:
    ticket = await tickets.create_ticket(admin, repair())
    await tickets.update_ticket(admin, ticket["id"], {"status": "resolved"}, version=None)
    return await Ticket.select(Ticket.id, Ticket.resolved_at).where(Ticket.id == ticket["id"]).first()


async def test_a_low_rating_runs_the_csat_rules(admin, make_rule, make_user, drain, automation):
    supervisor = await make_user("supervisor")
    await make_rule(
        "csat_received",
        [{"kind": "add_tag", "value": "差评"}, {"kind": "set_priority", "value": "urgent"}],
        conditions=[{"subject": "csat_score", "op": "lt", "value": "3"}],
    )
    await make_rule(
        "csat_received",
        [{"kind": "add_tag", "value": "好评"}],
        conditions=[{"subject": "csat_score", "op": "gt", "value": "3"}],
    )
    low, high = await _resolved(admin), await _resolved(admin)
    assert await AutomationTrigger.count() == 0  # nobody listens to creation or updates

    await csat.rate(low["id"], csat.sign(low["id"], low["resolved_at"]), "2", "等了三天")
    await csat.rate(high["id"], csat.sign(high["id"], high["resolved_at"]), "5", "")
    assert await _recorded() == [(low["id"], "csat_received"), (high["id"], "csat_received")]
    await drain()

    assert await automation.tags(low["id"]) == {"差评"}
    assert await automation.tags(high["id"]) == {"好评"}
    row = await Ticket.select(Ticket.priority, Ticket.status).where(Ticket.id == low["id"]).first()
    assert row == {"priority": "urgent", "status": "in_progress"}  # reopened by the rating, raised by the rule
    assert await Notification.count().where(Notification.recipient == supervisor.id) == 1  # the CSAT service's own


async def _sla_setup(make_user):
    """As tests/integration/sla: a campus, a desk team with a leader, an agent; consultation goes to the desk."""
    campus = await make_campus()
    leader = await make_user("customer_service", campus=campus)
    desk = await make_team("前台", leader=leader.id, campus=campus)
    agent = await make_user("customer_service", team=desk, campus=campus)
    await TicketType.update({TicketType.team: desk}).where(TicketType.code == "consultation")
    return campus, leader, agent


def _consultation(campus: int, **kwargs) -> tickets.Draft:
    return tickets.Draft(
        type="consultation", title="咨询暑期班", fields={"course_interest": ["数学"]}, campus_id=campus, **kwargs
    )


async def _process_all(clock) -> None:
    """The scan's clock is frozen in the past, so the sweeper's age test does not apply: run each pending one."""
    for row in await AutomationTrigger.select(AutomationTrigger.id).where(AutomationTrigger.status == "pending"):
        await engine.process(row["id"], clock)


async def test_sla_reminder_and_breach_run_their_rules(make_user, make_rule, automation):
    campus, _leader, agent = await _sla_setup(make_user)
    await make_rule("sla_warning", [{"kind": "add_tag", "value": "即将超时"}])
    await make_rule(
        "sla_breached", [{"kind": "set_priority", "value": "urgent"}, {"kind": "add_tag", "value": "已超时"}]
    )
    # Listens to updates: the scan's own timeline event must still not count as one.
    await make_rule(
        "updated",
        [{"kind": "add_tag", "value": "updated"}],
        conditions=[{"subject": "priority", "op": "is", "value": "low"}],
    )
    clock = FrozenClock(T0)
    ticket = await tickets.create_ticket(agent, _consultation(campus, assignee_id=agent.id), clock=clock)

    clock.advance(minutes=90)  # 30 minutes before the 120-minute first response
    assert await scan(clock) == {"remind": 1}
    assert await _recorded() == [(ticket["id"], "sla_warning")]
    trigger = await AutomationTrigger.select(AutomationTrigger.payload).first().output(load_json=True)
    assert trigger["payload"]["sla"] == ["remind"]
    await _process_all(clock)
    assert await automation.tags(ticket["id"]) == {"即将超时"}
    mark = await _last_trigger()

    clock.advance(minutes=30)
    assert await scan(clock) == {"breach": 1}
    assert (await _recorded(mark))[0] == (ticket["id"], "sla_breached")
    await _process_all(clock)
    assert await automation.tags(ticket["id"]) == {"即将超时", "已超时"}
    assert (await Ticket.select(Ticket.priority).where(Ticket.id == ticket["id"]).first())["priority"] == "urgent"
    assert [r["trigger"] for r in await automation.runs(ticket["id"]) if r["outcome"] == "done"] == [
        "sla_warning",
        "sla_breached",
    ]


async def test_a_breach_found_when_a_late_answer_arrives_before_the_scan_runs_its_rules(
    make_user, make_rule, automation
):
    campus, _leader, agent = await _sla_setup(make_user)
    await make_rule("sla_breached", [{"kind": "add_tag", "value": "已超时"}])
    clock = FrozenClock(T0)
    ticket = await tickets.create_ticket(agent, _consultation(campus, assignee_id=agent.id), clock=clock)
    clock.advance(minutes=125)  # due at 120; the scan has not run since
    await tickets.add_message(agent, ticket["id"], "抱歉回复晚了", public=True, clock=clock)
    assert await _recorded() == [(ticket["id"], "sla_breached")]
    assert "breach" not in await scan(clock)  # the scan finds it recorded: no second trigger
    assert await _recorded() == [(ticket["id"], "sla_breached")]
    await _process_all(clock)
    assert await automation.tags(ticket["id"]) == {"已超时"}


async def test_an_unclaimed_escalation_is_not_an_sla_trigger(make_user, make_rule):
    campus, _leader, _agent = await _sla_setup(make_user)
    await make_rule("sla_warning", [{"kind": "add_tag", "value": "即将超时"}])
    await make_rule("sla_breached", [{"kind": "add_tag", "value": "已超时"}])
    await make_rule("updated", [{"kind": "add_tag", "value": "updated"}])
    clock = FrozenClock(T0)
    await tickets.create_ticket(None, _consultation(campus), clock=clock)
    clock.advance(minutes=60)  # unclaimed for an hour: escalated to the team leader
    assert await scan(clock) == {"escalate": 1}
    assert await AutomationTrigger.count() == 0
