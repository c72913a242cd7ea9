"""The ticket lifecycle through the service functions: create, the state machine, versions, claims."""

from __future__ import annotations

import asyncio

import pytest

from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import PageRequest
from app.tickets import queries, services
from app.tickets.services import Draft, TicketFilter
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import repair


async def test_create_numbers_tickets_and_records_the_timeline(make_user):
    agent = await make_user("customer_service")
    first = await services.create_ticket(agent, repair())
    second = await services.create_ticket(
        agent, repair(title="空调漏水", fields={"location": "201", "equipment": "空调"})
    )

    assert first["number"].endswith("-000001") and second["number"].endswith("-000002")
    assert first["status"] == "new" and first["priority"] == "normal" and first["type_code"] == "repair"
    assert first["fields"] == {"location": "3 楼 302", "equipment": "投影仪"}
    kinds = [a["kind"] for a in await queries.timeline(first["id"])]
    assert kinds == ["created"]


async def test_custom_fields_are_validated_by_the_type(make_user):
    agent = await make_user("customer_service")
    with pytest.raises(ValidationFailed) as caught:
        await services.create_ticket(agent, repair(fields={"equipment": "火箭", "colour": "red"}))
    assert caught.value.by_field() == {
        "fields.colour": "This ticket type has no such field.",
        "fields.location": "This field is required.",
        "fields.equipment": "Choose one of the listed options.",
    }
    assert await Ticket.count() == 0


async def test_illegal_transition_is_refused_and_nothing_changes(make_user):
    agent = await make_user("customer_service")
    ticket = await services.create_ticket(agent, repair())
    closed = await services.update_ticket(agent, ticket["id"], {"status": "closed"}, version=ticket["version"])
    with pytest.raises(ValidationFailed) as caught:
        await services.update_ticket(agent, ticket["id"], {"status": "pending"}, version=closed["version"])
    assert "status" in caught.value.by_field()
    reopened = await services.update_ticket(agent, ticket["id"], {"status": "in_progress"}, version=closed["version"])
    assert reopened["status"] == "in_progress" and reopened["closed_at"] is None


async def test_stale_version_is_refused(make_user):
    agent = await make_user("customer_service")
    ticket = await services.create_ticket(agent, repair())
    await services.update_ticket(agent, ticket["id"], {"priority": "high"}, version=ticket["version"])
    with pytest.raises(Conflict):
        await services.update_ticket(agent, ticket["id"], {"priority": "low"}, version=ticket["version"])
    assert (await Ticket.select(Ticket.priority).where(Ticket.id == ticket["id"]).first())["priority"] == "high"


async def test_parent_cannot_close_while_a_child_is_open(make_user):
    agent = await make_user("customer_service")
    parent = await services.create_ticket(agent, repair())
    child = await services.create_ticket(agent, repair(title="换灯泡", parent_id=parent["id"]))
    with pytest.raises(ValidationFailed):
        await services.update_ticket(agent, parent["id"], {"status": "resolved"}, version=None)
    await services.update_ticket(agent, child["id"], {"status": "resolved"}, version=None)
    done = await services.update_ticket(agent, parent["id"], {"status": "resolved"}, version=None)
    assert done["status"] == "resolved" and done["resolved_at"] is not None


async def test_assigning_moves_new_to_assigned_and_only_desk_or_assignee_may_edit(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    ticket = await services.create_ticket(agent, repair())
    with pytest.raises(NotFound):  # not theirs: they cannot even see it
        await services.update_ticket(teacher, ticket["id"], {"priority": "high"}, version=None)
    assigned = await services.update_ticket(agent, ticket["id"], {"assignee": teacher.id}, version=None)
    assert assigned["status"] == "assigned"
    mine = await services.update_ticket(teacher, ticket["id"], {"status": "in_progress"}, version=None)
    advisor = await make_user("advisor")
    await services.update_ticket(agent, ticket["id"], {}, version=None)
    from tables.tickets.tables import TicketWatcher

    await TicketWatcher.insert(TicketWatcher(ticket=ticket["id"], user=advisor.id))
    assert (await services.get_ticket(advisor, ticket["id"]))["id"] == ticket["id"]  # a watcher sees it
    with pytest.raises(Forbidden):  # but may not change it
        await services.update_ticket(advisor, ticket["id"], {"priority": "high"}, version=None)
    assert mine["status"] == "in_progress"
    visible = await queries.list_tickets(teacher, TicketFilter(), PageRequest())
    assert [t["id"] for t in visible.items] == [ticket["id"]]


async def test_fifty_simultaneous_claims_make_exactly_one_owner(make_user):
    agents = [await make_user("customer_service") for _ in range(5)]
    ticket = await services.create_ticket(agents[0], repair())

    async def claim(agent):
        try:
            await services.claim_ticket(agent, ticket["id"])
            return agent.id
        except Conflict:
            return None

    results = await asyncio.gather(*(claim(agents[i % 5]) for i in range(50)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    row = await Ticket.select(Ticket.assignee, Ticket.status).where(Ticket.id == ticket["id"]).first()
    assert row == {"assignee": winners[0], "status": "assigned"}
    assert await TicketActivity.count().where(TicketActivity.kind == "assign") == 1


async def test_mentions_notify_and_first_reply_stamps_first_response(make_user):
    from tables.notifications.tables import Notification

    agent = await make_user("customer_service")
    teacher = await make_user("teacher", username="wanglaoshi")
    ticket = await services.create_ticket(agent, repair())
    note = await services.add_message(agent, ticket["id"], "@wanglaoshi 请帮忙看一下", public=False)
    assert note["first_response_at"] is None
    reply = await services.add_message(agent, ticket["id"], "已安排维修", public=True)
    assert reply["first_response_at"] is not None
    mention = await Notification.select().where(Notification.recipient == teacher.id).first()
    assert mention["kind"] == "mention" and ticket["number"] in mention["title"]


async def test_search_and_filters(make_user):
    agent = await make_user("customer_service")
    a = await services.create_ticket(agent, repair(tags=["楼层3"]))
    await services.create_ticket(
        agent, Draft(type="consultation", title="英语小班价格", fields={"course_interest": ["英语"]})
    )
    found = await queries.list_tickets(agent, TicketFilter(q="投影仪"), PageRequest())
    assert [t["id"] for t in found.items] == [a["id"]]
    by_type = await queries.list_tickets(agent, TicketFilter(type="consultation"), PageRequest())
    assert by_type.total == 1
    by_tag = await queries.list_tickets(agent, TicketFilter(tag="楼层3"), PageRequest())
    assert [t["id"] for t in by_tag.items] == [a["id"]]
