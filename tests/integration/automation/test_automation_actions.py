"""Each action's effect through the real ticket, notification and outbox services."""

from __future__ import annotations

import json

from app.tickets import services as tickets
from tables.accounts.tables import User
from tables.automation.tables import ReplyTemplate
from tables.notifications.tables import Notification, OutboxMessage
from tables.sla.tables import TicketSla
from tables.tickets.tables import Ticket, TicketLink
from tests.support import make_campus, make_team, repair


async def _ticket(ticket_id: int) -> dict:
    return (
        await Ticket.select(
            Ticket.status,
            Ticket.assignee,
            Ticket.team,
            Ticket.priority,
            Ticket.first_response_at,
        )
        .where(Ticket.id == ticket_id)
        .first()
    )


async def test_assign_person_assigns_and_tells_them(admin, make_rule, make_user, drain):
    agent = await make_user("customer_service", display_name="李老师")
    await make_rule("created", [{"kind": "assign_person", "value": agent.id}])
    ticket = await tickets.create_ticket(admin, repair())
    await drain()
    row = await _ticket(ticket["id"])
    assert (row["assignee"], row["status"]) == (agent.id, "assigned")
    assert (
        await Notification.count().where(
            (Notification.recipient == agent.id) & (Notification.kind == "ticket_assigned")
        )
        == 1
    )


async def test_assign_team_puts_it_back_in_the_team_queue(admin, make_rule, make_user, drain, automation):
    agent = await make_user("customer_service")
    desk = await make_team("维修组")
    await make_rule(
        "updated",
        [{"kind": "assign_team", "value": desk}],
        conditions=[{"subject": "text", "op": "contains", "value": "转维修组"}],
    )
    ticket = await tickets.create_ticket(admin, repair(assignee_id=agent.id))
    await tickets.add_message(admin, ticket["id"], "请转维修组处理", public=False)
    await drain()
    row = await _ticket(ticket["id"])
    assert (row["team"], row["assignee"], row["status"]) == (desk, None, "new")
    [entry] = await automation.activities(ticket["id"], "assign")
    assert entry["changes"] == {
        "team": [None, "维修组"],
        "assignee": [agent.id, None],
        "status": ["assigned", "new"],
        "by": "automation",
    }


async def test_set_priority_and_add_tag(admin, make_rule, drain, automation):
    await make_rule(
        "created",
        [
            {"kind": "set_priority", "value": "high"},
            {"kind": "add_tag", "value": "投诉"},
            {"kind": "add_tag", "value": "VIP"},
        ],
    )
    ticket = await tickets.create_ticket(admin, repair(priority="low", tags=["已有"]))
    await drain()
    assert (await _ticket(ticket["id"]))["priority"] == "high"
    assert await automation.tags(ticket["id"]) == {"已有", "投诉", "VIP"}
    [priority] = await automation.activities(ticket["id"], "priority")
    assert priority["changes"] == {"priority": ["low", "high"], "by": "automation"} and priority["actor"] is None


async def test_notify_role_reaches_the_role_in_the_tickets_campus_only(admin, make_rule, make_user, drain):
    here, elsewhere = await make_campus(), await make_campus()
    local = [await make_user("supervisor", campus=here) for _ in range(2)]
    school_wide = await make_user("supervisor")  # no campus: sees every campus
    away = await make_user("supervisor", campus=elsewhere)
    other_role = await make_user("finance", campus=here)
    gone = await make_user("supervisor", campus=here)
    await User.update({User.is_active: False}).where(User.id == gone.id)
    await make_rule("created", [{"kind": "notify_role", "value": "supervisor"}], name="投诉通知主管")
    ticket = await tickets.create_ticket(admin, repair(campus_id=here))
    await drain()

    rows = await Notification.select(Notification.recipient, Notification.body, Notification.link).where(
        Notification.kind == "automation"
    )
    assert sorted(r["recipient"] for r in rows) == sorted([*(u.id for u in local), school_wide.id])
    assert {away.id, other_role.id, gone.id}.isdisjoint(r["recipient"] for r in rows)
    assert {(r["body"], r["link"]) for r in rows} == {("投诉通知主管", f"/tickets/{ticket['id']}")}


async def test_a_template_reply_is_public_but_not_the_first_response(admin, make_rule, drain, automation):
    template = (
        await ReplyTemplate.insert(
            ReplyTemplate(
                name="已收到",
                body="{requester} 您好，{number}（{title}）已收到，当前状态：{status}。{unknown}",
            )
        ).returning(ReplyTemplate.id)
    )[0]["id"]
    await make_rule("created", [{"kind": "reply_template", "value": template}])
    ticket = await tickets.create_ticket(admin, repair(requester_name="王女士"))
    due_before = (await TicketSla.select(TicketSla.first_response_due).first())["first_response_due"]
    assert due_before is not None
    await drain()

    [reply] = await automation.activities(ticket["id"], "reply")
    # The status in the school's language (zh_CN by default); an unknown placeholder stays as written.
    assert reply["body"] == f"王女士 您好，{ticket['number']}（{ticket['title']}）已收到，当前状态：新建。{{unknown}}"
    assert reply["is_public"] and reply["actor"] is None
    assert reply["changes"]["by"] == "automation" and reply["changes"]["template"] == template
    # The SLA still waits for a person: first response neither stamped nor met.
    assert (await _ticket(ticket["id"]))["first_response_at"] is None
    sla = await TicketSla.select(TicketSla.first_response_due).first()
    assert sla["first_response_due"] == due_before

    await tickets.add_message(admin, ticket["id"], "师傅今天下午到", public=True)  # a person answers: now it is met
    assert (await TicketSla.select(TicketSla.first_response_due).first())["first_response_due"] is None
    assert (await _ticket(ticket["id"]))["first_response_at"] is not None


async def test_follow_up_opens_a_linked_ticket(admin, make_rule, make_user, drain):
    campus = await make_campus()
    await make_rule(
        "created",
        [{"kind": "follow_up", "value": "consultation", "title": "回访：{number}"}],
        conditions=[{"subject": "type", "op": "is", "value": "repair"}],
    )
    ticket = await tickets.create_ticket(admin, repair(campus_id=campus, priority="high", requester_name="王女士"))
    await drain()

    rows = await Ticket.select(
        Ticket.id,
        Ticket.title,
        Ticket.campus,
        Ticket.priority,
        Ticket.channel,
        Ticket.ticket_type.code.as_alias("type"),
    ).where(Ticket.id != ticket["id"])
    assert len(rows) == 1, "one follow-up, and the follow-up's own creation ran no rule (wrong type)"
    follow = rows[0]
    assert (follow["title"], follow["type"], follow["campus"], follow["priority"], follow["channel"]) == (
        f"回访：{ticket['number']}",
        "consultation",
        campus,
        "high",
        "internal",
    )
    link = await TicketLink.select(TicketLink.source, TicketLink.target, TicketLink.kind).first()
    assert {link["source"], link["target"]} == {ticket["id"], follow["id"]} and link["kind"] == "related"


async def test_follow_up_title_takes_the_tickets_title_as_text(admin, make_rule, drain, automation):
    """A title typed by the public may contain braces; it is never read as a placeholder."""
    await make_rule(
        "created",
        [{"kind": "follow_up", "value": "consultation"}],
        conditions=[{"subject": "type", "op": "is", "value": "repair"}],
    )
    ticket = await tickets.create_ticket(admin, repair(title="{student.name} 的投影仪 {number}"))
    await drain()
    [run] = await automation.runs(ticket["id"])
    assert run["outcome"] == "done", run["log"]
    follow = await Ticket.select(Ticket.title).where(Ticket.id != ticket["id"]).first()
    assert "{student.name} 的投影仪 {number}" in follow["title"]


async def test_webhook_writes_an_outbox_row(admin, make_rule, drain, automation):
    rule = await make_rule(
        "created",
        [{"kind": "add_tag", "value": "VIP"}, {"kind": "webhook", "value": "https://hooks.example.com/shuyuan"}],
        name="通知外部系统",
    )
    ticket = await tickets.create_ticket(admin, repair())
    await drain()

    [row] = await OutboxMessage.select().output(load_json=False)
    [run] = await automation.runs(ticket["id"])
    assert (row["channel"], row["address"], row["kind"], row["status"], row["subject"]) == (
        "webhook",
        "https://hooks.example.com/shuyuan",
        "webhook",
        "pending",
        "automation.created",
    )
    assert row["idempotency_key"] == f"automation:{run['id']}:1"
    body = json.loads(row["body"])
    assert body["event"] == "automation.created" and body["rule"] == {"id": rule["id"], "name": "通知外部系统"}
    assert body["run"] == run["id"]
    assert body["ticket"]["number"] == ticket["number"] and body["ticket"]["type"] == "repair"
    assert body["ticket"]["tags"] == ["VIP"]  # the earlier action's tag is already there
