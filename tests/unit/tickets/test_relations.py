"""Link, merge and split through the services, against the real database and Redis."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from app.core.clock import FrozenClock
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.events import Event
from app.core.pagination import PageRequest
from app.core.redis import get_redis
from app.settings import get_settings
from app.tickets import queries, services
from app.tickets.relations import services as relations
from tables.tickets.tables import Ticket, TicketActivity, TicketAttachment, TicketLink, TicketWatcher

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
from tests.support import repair


@contextlib.asynccontextmanager
async def published():
    """Collect the events published to Redis while the block runs."""
    seen: list[Event] = []
    pubsub = get_redis().pubsub()
    await pubsub.subscribe(get_settings().redis.events_channel)
    try:
        yield seen
        deadline = asyncio.get_running_loop().time() + 1
        while asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message and message["type"] == "message":
                seen.append(Event.from_json(message["data"]))
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()


async def test_linking_records_on_both_timelines_and_refuses_self_and_duplicates(make_user):
    agent = await make_user("customer_service")
    first = await services.create_ticket(agent, repair())
    second = await services.create_ticket(agent, repair("空调漏水"))

    await relations.link_tickets(agent, first["id"], second["number"], "duplicate")

    link = await TicketLink.select().first()
    assert (link["source"], link["target"], link["kind"]) == (first["id"], second["id"], "duplicate")
    for ticket, other in ((first, second), (second, first)):
        kinds = [(a["kind"], a["changes"].get("linked")) for a in await queries.timeline(ticket["id"])]
        assert ("link", [None, other["number"]]) in kinds
    with pytest.raises(ValidationFailed) as same:
        await relations.link_tickets(agent, first["id"], str(first["id"]))
    with pytest.raises(ValidationFailed) as twice:
        await relations.link_tickets(agent, second["id"], first["number"])  # the other way round is the same link
    with pytest.raises(ValidationFailed) as unknown:
        await relations.link_tickets(agent, first["id"], "T-1999-000001")
    assert [e.by_field() for e in (same.value, twice.value, unknown.value)] == [
        {"target": "A ticket cannot be linked to itself."},
        {"target": "These tickets are already linked."},
        {"target": "No ticket has this number."},
    ]
    assert await TicketLink.count() == 1


async def test_linking_needs_both_tickets_visible_and_the_right_to_work_one(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    mine = await services.create_ticket(agent, repair(assignee_id=teacher.id))
    hidden = await services.create_ticket(agent, repair("别人的"))
    watched = await services.create_ticket(agent, repair("我关注的"))
    await TicketWatcher.insert(TicketWatcher(ticket=watched["id"], user=teacher.id))

    with pytest.raises(ValidationFailed):  # a number they cannot see is as good as unknown
        await relations.link_tickets(teacher, mine["id"], hidden["number"])
    with pytest.raises(NotFound):  # and a ticket they cannot see cannot be the one linked from
        await relations.link_tickets(teacher, hidden["id"], mine["number"])
    with pytest.raises(Forbidden):  # a watcher sees the ticket but may not change it
        await relations.link_tickets(teacher, watched["id"], mine["number"])
    await relations.link_tickets(teacher, mine["id"], watched["number"])
    assert await TicketLink.count() == 1


async def test_merge_keeps_every_reply_note_and_attachment_with_authors_and_times(make_user):
    agent = await make_user("customer_service")
    other_agent = await make_user("customer_service")
    watcher = await make_user("teacher")
    clock = FrozenClock(START)
    target = await services.create_ticket(agent, repair(tags=["投影仪"]), clock)
    source_a = await services.create_ticket(
        agent, repair("又报投影仪", tags=["重复"], assignee_id=other_agent.id), clock
    )
    source_b = await services.create_ticket(agent, repair("投影仪还是不亮"), clock)
    await TicketWatcher.insert(TicketWatcher(ticket=source_b["id"], user=watcher.id))
    written = []
    for n, (ticket, author, public) in enumerate(
        [(source_a, other_agent, True), (source_a, agent, False), (source_b, agent, True), (target, agent, True)]
    ):
        clock.advance(minutes=10)
        await services.add_message(author, ticket["id"], f"消息 {n}", public=public, clock=clock)
        written.append((f"消息 {n}", author.id, clock.now()))
    note = await TicketActivity.select(TicketActivity.id).where(TicketActivity.body == "消息 1").first()
    await TicketAttachment.insert(
        TicketAttachment(
            ticket=source_a["id"],
            activity=note["id"],
            filename="发票.jpg",
            stored_name="abc123",
            content_type="image/jpeg",
            size=1000,
        )
    )
    clock.advance(hours=1)

    async with published() as events:
        merged = await relations.merge_tickets(agent, target["id"], [source_a["id"], source_b["id"]], clock)

    messages = [a for a in await queries.timeline(target["id"]) if a["kind"] in ("reply", "note")]
    assert [(a["body"], a["actor"]) for a in messages] == [(body, author) for body, author, _ in written]
    assert [a["created_at"] for a in messages] == [at for _, _, at in written]  # original times, in order
    assert (await TicketAttachment.select(TicketAttachment.ticket).first())["ticket"] == target["id"]
    for source in (source_a, source_b):
        row = (
            await Ticket.select(Ticket.status, Ticket.merged_into, Ticket.closed_at)
            .where(Ticket.id == source["id"])
            .first()
        )
        assert row["status"] == "closed" and row["merged_into"] == target["id"] and row["closed_at"] == clock.now()
        kinds = [a["kind"] for a in await queries.timeline(source["id"])]
        assert kinds == ["created", "merge"]  # its messages moved; its start and the merge stay
    target_kinds = [a["kind"] for a in await queries.timeline(target["id"])]
    assert target_kinds.count("merge") == 1 and target_kinds.count("created") == 1
    assert sorted(merged["tags"]) == ["投影仪", "重复"]
    watchers = {
        r["user"] for r in await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == target["id"])
    }
    assert watchers == {watcher.id, other_agent.id}  # the source's watcher and its assignee keep following
    updated = sorted(e.payload["id"] for e in events if e.name == "ticket.updated")
    assert updated == sorted([target["id"], source_a["id"], source_b["id"]])
    merge_note = next(a for a in await queries.timeline(target["id"]) if a["kind"] == "merge")
    assert source_a["number"] in merge_note["body"] and "又报投影仪" in merge_note["body"]


async def test_merged_sources_drop_out_of_lists_and_children_follow_the_target(make_user):
    agent = await make_user("customer_service")
    target = await services.create_ticket(agent, repair())
    source = await services.create_ticket(agent, repair("重复的"))
    child = await services.create_ticket(agent, repair("换灯泡", parent_id=source["id"]))

    await relations.merge_tickets(agent, target["id"], [source["id"]])

    assert (await Ticket.select(Ticket.parent).where(Ticket.id == child["id"]).first())["parent"] == target["id"]
    listed = await queries.list_tickets(agent, services.TicketFilter(), PageRequest())
    assert source["id"] not in [t["id"] for t in listed.items]
    with pytest.raises(ValidationFailed):  # the target now has the open child: it cannot close yet
        await services.update_ticket(agent, target["id"], {"status": "resolved"}, version=None)


async def test_merge_refuses_itself_invisible_and_already_merged_tickets(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    target = await services.create_ticket(agent, repair(assignee_id=teacher.id))
    hidden = await services.create_ticket(agent, repair("看不见的"))
    source = await services.create_ticket(agent, repair("重复"))

    with pytest.raises(ValidationFailed) as itself:
        await relations.merge_tickets(agent, target["id"], [target["id"]])
    assert itself.value.by_field() == {"target": "A ticket cannot be merged into itself."}
    with pytest.raises(NotFound):
        await relations.merge_tickets(teacher, target["id"], [hidden["id"]])
    with pytest.raises(ValidationFailed):
        await relations.merge_tickets(agent, target["id"], [])
    await relations.merge_tickets(agent, target["id"], [source["id"]])
    with pytest.raises(ValidationFailed) as again:
        await relations.merge_tickets(agent, hidden["id"], [source["id"]])
    assert again.value.by_field() == {"ids": "One of these tickets was already merged."}
    assert (await Ticket.select(Ticket.status).where(Ticket.id == hidden["id"]).first())["status"] == "new"


async def test_merge_of_a_stale_ticket_rolls_back_entirely(make_user, monkeypatch):
    agent = await make_user("customer_service")
    target = await services.create_ticket(agent, repair())
    source = await services.create_ticket(agent, repair("重复"))
    await services.add_message(agent, source["id"], "一条回复", public=True)
    loaded = await services.get_ticket(agent, source["id"])
    # Someone changes the source between loading and the merge's write: the whole merge must fail.
    await Ticket.update({Ticket.version: Ticket.version + 1}).where(Ticket.id == source["id"])
    original_workable = relations.workable

    async def stale_workable(actor, ticket_id):
        return loaded if ticket_id == source["id"] else await original_workable(actor, ticket_id)

    monkeypatch.setattr(relations, "workable", stale_workable)
    with pytest.raises(Conflict):
        await relations.merge_tickets(agent, target["id"], [source["id"]])
    reply = await TicketActivity.select(TicketActivity.ticket).where(TicketActivity.body == "一条回复").first()
    assert reply["ticket"] == source["id"]  # nothing moved
    assert (await Ticket.select(Ticket.merged_into).where(Ticket.id == source["id"]).first())["merged_into"] is None


async def test_split_creates_a_child_from_a_reply(make_user):
    agent = await make_user("customer_service")
    original = await services.create_ticket(agent, repair(requester_name="王女士", tags=["设备"]))
    await services.add_message(agent, original["id"], "另外 305 的空调也不制冷", public=True)
    reply = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "reply").first()

    child = await relations.split_ticket(agent, original["id"], reply["id"], "305 空调不制冷")

    assert child["parent"] == original["id"] and child["type_code"] == "repair"
    assert child["title"] == "305 空调不制冷" and child["description"] == "另外 305 的空调也不制冷"
    assert child["requester_name"] == "王女士" and child["fields"] == original["fields"]
    assert [a["kind"] for a in await queries.timeline(original["id"])][-1] == "split"
    assert [a["kind"] for a in await queries.timeline(child["id"])] == ["created", "split"]
    with pytest.raises(ValidationFailed):  # the parent cannot close while the child is open
        await services.update_ticket(agent, original["id"], {"status": "closed"}, version=None)


async def test_split_refuses_other_activities_and_a_missing_title(make_user):
    agent = await make_user("customer_service")
    original = await services.create_ticket(agent, repair())
    other = await services.create_ticket(agent, repair("别的"))
    await services.add_message(agent, other["id"], "别的工单的回复", public=True)
    foreign = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "reply").first()
    created = (
        await TicketActivity.select(TicketActivity.id)
        .where((TicketActivity.ticket == original["id"]) & (TicketActivity.kind == "created"))
        .first()
    )
    await services.add_message(agent, original["id"], "可以拆分的回复", public=True)
    own = await TicketActivity.select(TicketActivity.id).where(TicketActivity.body == "可以拆分的回复").first()

    for activity_id in (foreign["id"], created["id"]):
        with pytest.raises(ValidationFailed) as caught:
            await relations.split_ticket(agent, original["id"], activity_id, "新工单")
        assert caught.value.by_field() == {"activity": "Choose a reply or note of this ticket."}
    with pytest.raises(ValidationFailed) as untitled:
        await relations.split_ticket(agent, original["id"], own["id"], "  ")
    assert "title" in untitled.value.by_field()
    assert await Ticket.count() == 2


async def test_split_leaves_out_a_value_the_form_no_longer_accepts(make_user):
    agent = await make_user("customer_service")
    original = await services.create_ticket(agent, repair())
    await services.add_message(agent, original["id"], "还有一台电脑坏了", public=True)
    reply = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "reply").first()
    # The type's form changes after the ticket was filed: 投影仪 is no longer a choice.
    type_row = await services.type_by_code("repair")
    fields = [
        {**f, "options": [o for o in f["options"] if o != "投影仪"]} if f["key"] == "equipment" else f
        for f in type_row["fields"]
    ]
    fields = [{**f, "required": False} if f["key"] == "equipment" else f for f in fields]
    from tables.tickets.tables import TicketType

    await TicketType.update({TicketType.fields: fields}).where(TicketType.id == type_row["id"])

    child = await relations.split_ticket(agent, original["id"], reply["id"], "电脑坏了")
    assert child["fields"] == {"location": "3 楼 302"}


async def test_relations_panel_data_lists_only_visible_tickets(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    mine = await services.create_ticket(agent, repair(assignee_id=teacher.id))
    hidden = await services.create_ticket(agent, repair("看不见的"))
    visible = await services.create_ticket(agent, repair("看得见的", assignee_id=teacher.id))
    await relations.link_tickets(agent, mine["id"], hidden["number"])
    await relations.link_tickets(agent, mine["id"], visible["number"])
    child = await services.create_ticket(agent, repair("子工单", parent_id=mine["id"]))

    as_agent = await relations.ticket_relations(agent, mine)
    as_teacher = await relations.ticket_relations(teacher, mine)

    assert sorted(link["id"] for link in as_agent["links"]) == sorted([hidden["id"], visible["id"]])
    assert [link["id"] for link in as_teacher["links"]] == [visible["id"]]
    assert [c["id"] for c in as_agent["children"]] == [child["id"]] and as_teacher["children"] == []


async def test_split_asks_for_required_values_the_original_never_had(make_user):
    agent = await make_user("customer_service")
    original = await services.create_ticket(agent, repair())
    await services.add_message(agent, original["id"], "楼道灯也坏了", public=True)
    reply = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "reply").first()
    from tables.tickets.tables import TicketType

    type_row = await services.type_by_code("repair")  # a field that became required after the ticket was filed
    fields = [
        *type_row["fields"],
        {
            "key": "floor",
            "label": "楼层",
            "type": "text",
            "required": True,
            "help": "",
            "options": [],
            "order": 9,
            "archived": False,
        },
    ]
    await TicketType.update({TicketType.fields: fields}).where(TicketType.id == type_row["id"])
    original = await services.get_ticket(agent, original["id"])
    assert [f["key"] for f in relations.missing_required(original)] == ["floor"]

    with pytest.raises(ValidationFailed) as caught:
        await relations.split_ticket(agent, original["id"], reply["id"], "楼道灯")
    assert caught.value.by_field() == {"fields.floor": "This field is required."}
    child = await relations.split_ticket(agent, original["id"], reply["id"], "楼道灯", {"floor": "3"})
    assert child["fields"] == {**original["fields"], "floor": "3"}


async def test_a_ticket_number_the_user_cannot_see_reads_as_unknown(make_user):
    teacher = await make_user("teacher")
    agent = await make_user("customer_service")
    mine = await services.create_ticket(agent, repair(assignee_id=teacher.id))
    hidden = await services.create_ticket(agent, repair("看不见的"))
    with pytest.raises(ValidationFailed) as caught:
        await relations.link_tickets(teacher, mine["id"], hidden["number"])
    assert caught.value.by_field() == {"target": "No ticket has this number."}  # not "exists but hidden"
