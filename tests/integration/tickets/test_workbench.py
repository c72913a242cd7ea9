"""我的待办: the right tickets per person, one-click actions, and live counts over a real WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import timedelta

import httpx
import uvicorn
import websockets
from services import free_port  # scripts/services.py (tests/conftest.py puts scripts/ on the path)

from app.core.clock import system_clock
from app.tickets import services
from app.tickets.services import Draft
from app.workbench import services as workbench
from tables.tickets.tables import Ticket, TicketActivity, TicketType
from tests.support import login, make_campus, make_team, post_form, set_leader

HX = {"HX-Request": "true", "HX-Target": "workbench-body"}


def repair(title: str, **kwargs) -> Draft:
    return Draft(type="repair", title=title, fields={"location": "302", "equipment": "空调"}, **kwargs)


async def set_due(ticket: dict, hours: float) -> None:
    await Ticket.update({Ticket.due_at: system_clock.now() + timedelta(hours=hours)}).where(Ticket.id == ticket["id"])


async def section_ids(user) -> dict[str, list[int]]:
    return {
        s.key: [t["id"] for t in s.items]
        for s in await workbench.sections(user)
        if s.key not in ("mentions", "approvals")
    }


async def test_an_agent_sees_their_tickets_the_campus_pool_deadlines_and_mentions(make_user):
    campus, elsewhere = await make_campus(), await make_campus()
    agent = await make_user("customer_service", campus=campus)
    colleague = await make_user("customer_service", campus=campus)
    mine = await services.create_ticket(colleague, repair("分给我的", assignee_id=agent.id, campus_id=campus))
    soon = await services.create_ticket(colleague, repair("快到期", assignee_id=agent.id, campus_id=campus))
    late = await services.create_ticket(colleague, repair("已超时", assignee_id=agent.id, campus_id=campus))
    pool = await services.create_ticket(colleague, repair("没人接", campus_id=campus))
    await services.create_ticket(colleague, repair("别的校区", campus_id=elsewhere))
    theirs = await services.create_ticket(colleague, repair("同事的", assignee_id=colleague.id, campus_id=campus))
    await set_due(soon, 3)
    await set_due(late, -2)
    await set_due(theirs, -2)  # overdue, but neither mine nor in my teams
    done = await services.create_ticket(colleague, repair("已解决", assignee_id=agent.id, campus_id=campus))
    await services.update_ticket(agent, done["id"], {"status": "resolved"}, version=None)
    await services.add_message(colleague, theirs["id"], f"@{agent.username} 请帮忙看看", public=False)

    found = await section_ids(agent)
    counts = await workbench.counts(agent)

    assert sorted(found["mine"]) == sorted([mine["id"], soon["id"], late["id"]])
    assert found["unassigned"] == [pool["id"]]
    assert found["due_soon"] == [soon["id"]] and found["overdue"] == [late["id"]]
    assert counts == {"mine": 3, "unassigned": 1, "due_soon": 1, "overdue": 1, "mentions": 1, "approvals": 0}


async def test_an_overdue_ticket_reads_overdue_in_whichever_section_it_shows(client, make_user):
    campus = await make_campus()
    agent = await make_user("customer_service", campus=campus)
    late = await services.create_ticket(agent, repair("没人接又超时", campus_id=campus))
    fresh = await services.create_ticket(agent, repair("没人接还来得及", campus_id=campus))
    await set_due(late, -30)
    await set_due(fresh, 30)
    await login(client, agent)

    page = (await client.get("/workbench", headers={"Accept-Language": "zh-CN"})).text
    pool = page[page.index('id="wb-unassigned"') : page.index('id="wb-due_soon"')]
    late_row = pool[pool.index("没人接又超时") : pool.index("没人接还来得及")]
    fresh_row = pool[pool.index("没人接还来得及") :]
    assert "wb-due is-overdue" in late_row and "已超时（" in late_row
    assert "wb-due is-overdue" not in fresh_row and "到期" in fresh_row and "已超时" not in fresh_row


async def test_a_teacher_sees_only_what_they_may_open(make_user):
    campus = await make_campus()
    team = await make_team(campus=campus)
    teacher = await make_user("teacher", team=team, campus=campus)
    desk = await make_user("customer_service", campus=campus)
    await TicketType.update({TicketType.team: team}).where(TicketType.code == "repair")
    assigned = await services.create_ticket(desk, repair("请假", assignee_id=teacher.id))
    own_report = await services.create_ticket(teacher, repair("我报的修"))  # unassigned, in my team, mine to see
    await services.create_ticket(desk, repair("前台建的"))  # in my team's queue, but not visible to a teacher

    found = await section_ids(teacher)

    assert found["mine"] == [assigned["id"]]
    assert found["unassigned"] == [own_report["id"]]
    assert found["due_soon"] == [] and found["overdue"] == []


async def test_a_team_leader_sees_the_teams_queue_and_overdue_work(make_user):
    campus = await make_campus()
    parent = await make_team(campus=campus)
    team = await make_team(campus=campus, parent=parent)
    leader = await make_user("teacher", team=parent, campus=campus)
    await set_leader(parent, leader.id)
    member = await make_user("teacher", team=team, campus=campus)
    outsider = await make_user("teacher", campus=campus)
    await TicketType.update({TicketType.team: team}).where(TicketType.code == "repair")
    queued = await services.create_ticket(member, repair("组员报修"))
    late = await services.create_ticket(member, repair("组员超时", assignee_id=member.id))
    await set_due(late, -1)
    await services.create_ticket(outsider, repair("别的组"))

    found = await section_ids(leader)

    assert found["unassigned"] == [queued["id"]]
    assert found["overdue"] == [late["id"]]
    assert found["mine"] == []


async def test_workbench_page_shows_sections_and_the_honest_approvals_placeholder(client, make_user):
    campus = await make_campus()
    agent = await make_user("customer_service", campus=campus)
    for n in range(7):
        await services.create_ticket(agent, repair(f"待接单 {n}", campus_id=campus))
    await login(client, agent)

    page = await client.get("/workbench")

    assert page.status_code == 200
    assert 'id="workbench-counts"' in page.text and 'id="wb-approvals"' in page.text
    assert page.text.count('action="/workbench/tickets/') >= 5 * 2  # claim and reply on each of five rows
    assert (
        "待接单 0" in page.text and "待接单 4" in page.text and "待接单 5" not in page.text
    )  # the oldest wait longest
    assert "See all 7" in page.text or "查看全部 7" in page.text
    assert (
        'href="/tickets?assignee=none&amp;status=new&amp;status=assigned&amp;status=in_progress&amp;status=pending"'
        in page.text
    )
    assert "Nothing is waiting for your approval." in page.text or "没有等待您审批的工单" in page.text


async def test_workbench_runs_a_fixed_number_of_queries(client, make_user, count_queries):
    campus = await make_campus()
    agent = await make_user("customer_service", campus=campus)
    await login(client, agent)
    counts = []
    for total in (3, 30):
        await Ticket.delete(force=True)
        for n in range(total):
            await services.create_ticket(
                agent, repair(f"工单{n}", assignee_id=agent.id if n % 2 else None, campus_id=campus)
            )
        with count_queries() as statements:
            response = await client.get("/workbench")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 16, counts


async def test_claim_resolve_and_reply_from_the_workbench(client, make_user):
    campus = await make_campus()
    agent = await make_user("customer_service", campus=campus)
    rival = await make_user("customer_service", campus=campus)
    ticket = await services.create_ticket(rival, repair("投影仪坏了", campus_id=campus))
    await login(client, agent)

    claimed = await post_form(client, f"/workbench/tickets/{ticket['id']}/claim", {}, headers=HX)
    assert claimed.status_code == 200 and ticket["number"] in claimed.text and 'id="workbench-body"' in claimed.text
    row = await Ticket.select(Ticket.assignee, Ticket.status, Ticket.version).where(Ticket.id == ticket["id"]).first()
    assert row["assignee"] == agent.id and row["status"] == "assigned"

    again = await post_form(client, f"/workbench/tickets/{ticket['id']}/claim", {}, headers=HX)
    assert again.status_code == 409 and "alert-error" in again.text

    replied = await post_form(client, f"/workbench/tickets/{ticket['id']}/reply", {"body": "师傅下午到"}, headers=HX)
    assert replied.status_code == 200
    activity = await TicketActivity.select().where(TicketActivity.kind == "reply").first()
    assert activity["body"] == "师傅下午到" and activity["is_public"] is True and activity["actor"] == agent.id
    empty = await post_form(client, f"/workbench/tickets/{ticket['id']}/reply", {"body": " "}, headers=HX)
    assert empty.status_code == 422 and "alert-error" in empty.text

    version = (await Ticket.select(Ticket.version).where(Ticket.id == ticket["id"]).first())["version"]
    resolved = await post_form(
        client, f"/workbench/tickets/{ticket['id']}/resolve", {"version": str(version)}, headers=HX
    )
    assert resolved.status_code == 200
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket["id"]).first())["status"] == "resolved"

    fresh = await services.create_ticket(rival, repair("另一个", campus_id=campus))
    plain = await post_form(client, f"/workbench/tickets/{fresh['id']}/claim", {})  # without htmx: back to the page
    assert plain.status_code in (302, 303) and plain.headers["location"] == "/workbench"
    taken = await post_form(client, f"/workbench/tickets/{fresh['id']}/claim", {})  # ... or the error page, with why
    assert taken.status_code == 409 and "error-page" in taken.text


async def test_resolve_refused_while_a_child_is_open_says_why(client, make_user):
    agent = await make_user("customer_service")
    parent = await services.create_ticket(agent, repair("总工单", assignee_id=agent.id))
    await services.create_ticket(agent, repair("子工单", parent_id=parent["id"]))
    await login(client, agent)

    response = await post_form(client, f"/workbench/tickets/{parent['id']}/resolve", {}, headers=HX)

    assert response.status_code == 422 and "alert-error" in response.text
    assert (await Ticket.select(Ticket.status).where(Ticket.id == parent["id"]).first())["status"] == "assigned"


async def test_a_teacher_cannot_claim_or_reply_on_a_ticket_they_cannot_see(client, make_user):
    desk = await make_user("customer_service")
    teacher = await make_user("teacher")
    hidden = await services.create_ticket(desk, repair("看不见"))
    await login(client, teacher)

    claim = await post_form(client, f"/workbench/tickets/{hidden['id']}/claim", {}, headers=HX)
    reply = await post_form(client, f"/workbench/tickets/{hidden['id']}/reply", {"body": "hi"}, headers=HX)

    assert claim.status_code == 404 and reply.status_code == 404
    row = await Ticket.select(Ticket.assignee).where(Ticket.id == hidden["id"]).first()
    assert row["assignee"] is None and await TicketActivity.count().where(TicketActivity.kind == "reply") == 0


# Live counts, end to end: a real uvicorn server on this event loop, real WebSocket clients.


@contextlib.asynccontextmanager
async def live_server(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def open_socket(address: str, user, *, on_workbench: bool = True):
    """A tab's socket; on the workbench page it follows the counts as the page does (ws-send)."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        await login(http, user)
        cookie = http.cookies.get("sy_session")
    socket = await websockets.connect(f"ws://{address}/ws", additional_headers={"Cookie": f"sy_session={cookie}"})
    first = await asyncio.wait_for(socket.recv(), 5)
    assert 'id="bell"' in first  # connected and registered with the hub
    if on_workbench:
        await socket.send(json.dumps({"type": "workbench", "open": True}))
        fresh = await asyncio.wait_for(socket.recv(), 5)
        assert 'id="workbench-counts"' in fresh and "wb-refresh" not in fresh  # fresh counts at once, nothing "changed"
    await pushes(socket, 0.2)  # drain whatever else connecting sent
    return socket


async def pushes(socket, seconds: float = 0.8) -> list[str]:
    received = []
    with contextlib.suppress(asyncio.TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                received.append(await socket.recv())
    return received


async def all_pushes(sockets: dict) -> dict[str, list[dict[str, str]]]:
    received = await asyncio.gather(*(pushes(s) for s in sockets.values()))
    return {name: counts_in(messages) for name, messages in zip(sockets, received)}


def counts_in(messages: list[str]) -> list[dict[str, str]]:
    found = []
    for message in messages:
        if 'id="workbench-counts"' in message:
            found.append(
                {**dict(re.findall(r'data-count="(\w+)">([^<]*)<', message)), "refresh": "wb-refresh" in message}
            )
    return found


async def test_live_counts_reach_only_the_affected_users(app, make_user):
    campus, elsewhere = await make_campus(), await make_campus()
    team = await make_team(campus=campus)
    await TicketType.update({TicketType.team: team}).where(TicketType.code == "repair")
    desk = await make_user("customer_service", campus=campus)
    far_desk = await make_user("customer_service", campus=elsewhere)
    assignee = await make_user("teacher", campus=campus)
    member = await make_user("teacher", team=team, campus=campus)
    bystander = await make_user("teacher", campus=campus)
    author = await make_user("supervisor", campus=campus)

    async with live_server(app) as address:
        people = {"desk": desk, "far_desk": far_desk, "assignee": assignee, "member": member, "bystander": bystander}
        sockets = {name: await open_socket(address, user) for name, user in people.items()}
        sockets["desk_elsewhere"] = await open_socket(address, desk, on_workbench=False)  # same user, another page
        try:
            ticket = await services.create_ticket(author, repair("空调坏了", assignee_id=assignee.id, campus_id=campus))
            got = await all_pushes(sockets)
            assert got["assignee"] and got["assignee"][-1]["mine"] == "1" and got["assignee"][-1]["refresh"]
            assert got["desk"] and got["desk"][-1]["mine"] == "0"  # the campus desk is told, with its own numbers
            assert got["member"]  # the ticket is in their team
            assert got["far_desk"] == [] and got["bystander"] == [] and got["desk_elsewhere"] == []

            await sockets["desk"].send(json.dumps({"type": "workbench", "open": False}))  # htmx swapped the page away
            await asyncio.sleep(0.2)
            await services.update_ticket(author, ticket["id"], {"assignee": None}, version=None)
            got = await all_pushes(sockets)
            assert got["assignee"][-1]["mine"] == "0"  # the old assignee hears it left
            assert got["member"][-1]["unassigned"] == "0"  # in their team's queue, but a teacher cannot see it
            assert got["desk"] == [] and got["far_desk"] == [] and got["bystander"] == []

            await services.add_message(author, ticket["id"], f"@{bystander.username} 你来看看", public=False)
            got = await all_pushes(sockets)
            assert got["bystander"] and got["bystander"][-1]["mentions"] == "1"
            assert got["member"] == [] and got["far_desk"] == []  # a note changes nobody else's counts
        finally:
            for socket in sockets.values():
                await socket.close()


# The relation routes (link / merge / split) through HTTP; their rules are tested in
# tests/unit/tickets/test_relations.py.


async def test_link_merge_and_split_through_the_forms(client, make_user):
    agent = await make_user("customer_service")
    keep = await services.create_ticket(agent, repair("保留的"))
    dup = await services.create_ticket(agent, repair("重复的"))
    other = await services.create_ticket(agent, repair("相关的"))
    await services.add_message(agent, dup["id"], "重复工单里的回复", public=True)
    await login(client, agent)

    panel = await client.get(f"/tickets/{keep['id']}/relations", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and 'id="ticket-relations"' in panel.text
    bad = await post_form(
        client, f"/tickets/{keep['id']}/link", {"target": "T-1999-000001"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and 'value="T-1999-000001"' in bad.text
    linked = await post_form(
        client,
        f"/tickets/{keep['id']}/link",
        {"target": other["number"], "kind": "related"},
        headers={"HX-Request": "true"},
    )
    assert linked.status_code == 200 and other["number"] in linked.text

    form = await client.get(f"/tickets/merge?ids={keep['id']}&ids={dup['id']}")
    assert form.status_code == 200 and keep["number"] in form.text and dup["number"] in form.text
    merged = await post_form(
        client, "/tickets/merge", {"ids": [str(keep["id"]), str(dup["id"])], "target": keep["number"]}
    )
    assert merged.status_code in (302, 303) and merged.headers["location"] == f"/tickets/{keep['id']}"
    moved = await TicketActivity.select(TicketActivity.ticket).where(TicketActivity.body == "重复工单里的回复").first()
    assert moved["ticket"] == keep["id"]
    itself = await post_form(client, "/tickets/merge", {"ids": [str(keep["id"])], "target": keep["number"]})
    assert itself.status_code == 422

    reply = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "reply").first()
    page = await client.get(f"/tickets/{keep['id']}/split?activity={reply['id']}")
    assert page.status_code == 200 and "重复工单里的回复" in page.text
    untitled = await post_form(client, f"/tickets/{keep['id']}/split", {"activity": str(reply["id"]), "title": ""})
    assert untitled.status_code == 422 and 'id="f-title-error"' in untitled.text
    split = await post_form(client, f"/tickets/{keep['id']}/split", {"activity": str(reply["id"]), "title": "拆出来的"})
    assert split.status_code in (302, 303)
    child = await Ticket.select(Ticket.id, Ticket.parent, Ticket.description).where(Ticket.title == "拆出来的").first()
    assert child["parent"] == keep["id"] and child["description"] == "重复工单里的回复"
    assert split.headers["location"] == f"/tickets/{child['id']}"


async def test_relation_routes_refuse_people_who_cannot_work_the_ticket(client, make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    hidden = await services.create_ticket(agent, repair("看不见"))
    watched = await services.create_ticket(agent, repair("关注的"))
    from tables.tickets.tables import TicketWatcher

    await TicketWatcher.insert(TicketWatcher(ticket=watched["id"], user=teacher.id))
    await login(client, teacher)

    assert (await client.get(f"/tickets/{hidden['id']}/relations")).status_code == 404
    panel = await client.get(f"/tickets/{watched['id']}/relations", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "rel-forms" not in panel.text  # a watcher sees links, gets no forms
    assert (await post_form(client, f"/tickets/{watched['id']}/link", {"target": hidden["number"]})).status_code == 403
    refused = await post_form(
        client, f"/tickets/{watched['id']}/link", {"target": watched["number"]}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 403 and 'id="ticket-relations"' in refused.text and "alert-error" in refused.text
    assert (await client.get(f"/tickets/{watched['id']}/split")).status_code == 403
    merge = await post_form(client, "/tickets/merge", {"ids": [str(hidden["id"])], "target": watched["number"]})
    assert merge.status_code == 403
    assert await Ticket.count().where(Ticket.merged_into.is_not_null()) == 0
