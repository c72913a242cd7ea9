"""The Kanban board: columns and counts, "load more", filters, moves over HTTP, live pushes per
connection, wall-display tokens, presence, and a fixed number of SQL queries per board."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.core.clock import FrozenClock
from app.core.errors import ValidationFailed
from app.core.events import Event
from app.core.i18n import gettext as _
from app.realtime import hub as hub_module
from app.realtime.hub import Connection
from app.tickets import presence, services
from app.tickets.board import columns as board
from app.tickets.board import displays
from app.tickets.board import realtime as board_realtime
from app.tickets.board.columns import BoardQuery
from app.tickets.board.controllers import STALE_MOVE
from app.tickets.services import Draft
from tables.tickets.tables import BoardDisplay, Ticket
from tests.support import login, make_campus, post_form, repair


async def open_tickets(actor, n: int, **kwargs) -> list[dict]:
    return [await services.create_ticket(actor, repair(title=f"报修 {i}", **kwargs)) for i in range(n)]


async def set_status(actor, ticket: dict, status: str) -> dict:
    return await services.update_ticket(actor, ticket["id"], {"status": status}, version=None)


class Socket:
    """Stands in for the browser end of a WebSocket: records what the server sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: int | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code


def connection(user, locale: str = "zh_CN", **kwargs) -> Connection:
    return Connection(socket=Socket(), user=user, locale=locale, **kwargs)


def card_ids(html: str, column: str) -> list[str]:
    section = html.split(f'id="cards-{column}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<article id="card-(\d+)"', section)


# Board queries ---------------------------------------------------------------------------------


async def test_columns_by_status_count_everything_and_show_thirty_per_column(make_user):
    agent = await make_user("customer_service")
    new = await open_tickets(agent, 33)
    for ticket in new[:2]:
        await set_status(agent, ticket, "in_progress")
    await set_status(agent, new[2], "closed")

    shown = await board.load_board(agent, BoardQuery())
    columns = {c.key: c for c in shown.columns}
    assert list(columns) == ["new", "assigned", "in_progress", "pending", "resolved"]
    assert (columns["new"].count, len(columns["new"].cards), columns["new"].has_more) == (30, 30, False)
    assert columns["in_progress"].count == 2 and shown.total == 32
    # Most recently changed first: the two just moved, newest on top.
    assert [c["id"] for c in columns["in_progress"].cards] == [new[1]["id"], new[0]["id"]]

    with_closed = await board.load_board(agent, BoardQuery(closed=True))
    assert [c.key for c in with_closed.columns][-1] == "closed" and with_closed.columns[-1].count == 1


async def test_load_more_pages_one_column(make_user):
    agent = await make_user("customer_service")
    tickets = await open_tickets(agent, 35)
    shown = await board.load_board(agent, BoardQuery())
    first = shown.columns[0]
    assert first.count == 35 and len(first.cards) == 30 and first.has_more

    more, count = await board.load_column(agent, BoardQuery(), "new", 30)
    assert count == 35
    assert [c["id"] for c in more] == [t["id"] for t in tickets[:5]][::-1]
    assert not {c["id"] for c in more} & {c["id"] for c in first.cards}
    with pytest.raises(ValidationFailed):
        await board.load_column(agent, BoardQuery(), "closed", 0)  # not a column of this board


async def test_columns_by_assignee_and_by_type(make_user):
    agent = await make_user("customer_service", display_name="王客服")
    teacher = await make_user("teacher", display_name="李老师")
    await open_tickets(agent, 2)
    await open_tickets(agent, 3, assignee_id=teacher.id)
    await services.create_ticket(agent, Draft(type="complaint", title="服务态度", fields={"category": "服务态度"}))

    by_person = await board.load_board(agent, BoardQuery(group="assignee"))
    heads = [(c.key, c.label, c.count) for c in by_person.columns]
    # Nobody first, then me (so I can drag onto myself), then everyone holding tickets.
    assert heads == [("none", "Unassigned", 3), (str(agent.id), "王客服", 0), (str(teacher.id), "李老师", 3)]

    by_type = await board.load_board(agent, BoardQuery(group="type"))
    counts = {c.label: c.count for c in by_type.columns}
    assert len(by_type.columns) == 6 and counts["设备报修"] == 5 and counts["投诉建议"] == 1 and counts["退费申请"] == 0


async def test_filters_narrow_every_column(make_user):
    campus = await make_campus()
    agent = await make_user("customer_service")
    other = await make_user("customer_service")
    urgent = await services.create_ticket(agent, repair(title="漏水 urgent", priority="urgent", tags=["漏水"]))
    mine = await services.create_ticket(agent, repair(title="空调", assignee_id=agent.id, campus_id=campus))
    theirs = await services.create_ticket(agent, repair(title="投影", assignee_id=other.id))
    consult = await services.create_ticket(
        agent, Draft(type="consultation", title="想报数学", fields={"course_interest": ["数学"]})
    )

    async def ids(**filters) -> set[int]:
        shown = await board.load_board(agent, BoardQuery(**filters))
        return {card["id"] for column in shown.columns for card in column.cards}

    assert await ids(priority="urgent") == {urgent["id"]}
    assert await ids(assignee="me") == {mine["id"]}
    assert await ids(assignee="none") == {urgent["id"], consult["id"]}
    assert await ids(assignee=str(other.id)) == {theirs["id"]}
    assert await ids(campus=campus) == {mine["id"]}
    assert await ids(tag="漏水") == {urgent["id"]}
    assert await ids(type="consultation") == {consult["id"]}
    assert await ids(q="空调") == {mine["id"]}
    with pytest.raises(ValidationFailed) as caught:
        BoardQuery.parse({"group": "colour", "priority": "huge", "campus": "x"})
    assert set(caught.value.by_field()) == {"group", "priority", "campus"}


async def test_board_shows_only_what_the_user_may_see(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    await open_tickets(agent, 3)
    theirs = await services.create_ticket(agent, repair(assignee_id=teacher.id))
    shown = await board.load_board(teacher, BoardQuery())
    assert [card["id"] for c in shown.columns for card in c.cards] == [theirs["id"]]


async def test_sla_time_left_and_overdue_on_cards(make_user):
    agent = await make_user("customer_service")
    late, soon, later = await open_tickets(agent, 3)
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for ticket, due in (
        (late, now - timedelta(minutes=90)),
        (soon, now + timedelta(minutes=125)),
        (later, now + timedelta(days=2, hours=3)),
    ):
        await Ticket.update({Ticket.due_at: due}).where(Ticket.id == ticket["id"])
    cards = {c["id"]: c for c in (await board.load_board(agent, BoardQuery(), FrozenClock(now))).columns[0].cards}
    assert (cards[late["id"]]["sla_state"], cards[late["id"]]["sla_minutes"]) == ("overdue", -90)
    assert cards[late["id"]]["sla_text"] == _("Overdue %(span)s", span=_("%(h)sh %(m)sm", h=1, m=30))
    assert cards[later["id"]]["sla_text"] == _("%(span)s left", span=_("%(d)sd %(h)sh", d=2, h=3))
    assert (cards[soon["id"]]["sla_state"], cards[soon["id"]]["sla_minutes"]) == ("soon", 125)
    assert cards[later["id"]]["sla_state"] == "ok"


# The page and moves over HTTP -------------------------------------------------------------------


async def test_board_page_keeps_filters_in_links_and_loads_more(client, make_user):
    agent = await make_user("customer_service")
    await open_tickets(agent, 32, priority="high")
    await login(client, agent)
    response = await client.get("/board", params={"priority": "high", "group": "status"})
    assert response.status_code == 200
    assert len(card_ids(response.text, "status-new")) == 30
    assert 'href="/board?group=assignee&amp;priority=high"' in response.text
    assert '"board": {"priority": "high"}' in response.text  # what the page subscribes to over /ws

    more = await client.get("/board/column", params={"key": "new", "offset": "30", "priority": "high"})
    assert more.status_code == 200 and len(re.findall(r'<article id="card-', more.text)) == 2
    bad = await client.get("/board", params={"group": "colour"})
    assert bad.status_code == 422


async def test_legal_move_changes_status_and_answers_the_card_in_its_new_column(client, make_user):
    agent = await make_user("customer_service")
    ticket = (await open_tickets(agent, 1))[0]
    await login(client, agent)
    response = await post_form(client, "/board/move", {"id": ticket["id"], "to": "status:in_progress", "version": 1})
    assert response.status_code == 200
    assert f'<article id="card-{ticket["id"]}" hx-swap-oob="delete">' in response.text
    assert 'hx-swap-oob="afterbegin:#cards-status-in_progress"' in response.text
    assert re.search(r'id="count-status-in_progress"[^>]*>1<', response.text)
    row = await Ticket.select(Ticket.status, Ticket.version).where(Ticket.id == ticket["id"]).first()
    assert row == {"status": "in_progress", "version": 2}


async def test_illegal_move_is_refused_with_the_reason_and_nothing_changes(client, make_user):
    agent = await make_user("customer_service")
    ticket = await set_status(agent, (await open_tickets(agent, 1))[0], "pending")
    await login(client, agent)
    response = await post_form(
        client, "/board/move", {"id": ticket["id"], "to": "status:new", "version": ticket["version"]}
    )
    assert response.status_code == 422
    assert "工单不能从“待用户反馈”变为“新建”" in response.text
    assert f'id="card-{ticket["id"]}"' in response.text and 'hx-swap-oob="true"' in response.text  # put back as it is
    row = await Ticket.select(Ticket.status, Ticket.version).where(Ticket.id == ticket["id"]).first()
    assert row == {"status": "pending", "version": ticket["version"]}


async def test_stale_version_is_a_conflict_and_shows_the_card_as_it_is_now(client, make_user):
    agent = await make_user("customer_service")
    ticket = (await open_tickets(agent, 1))[0]
    await set_status(agent, ticket, "in_progress")  # someone else, meanwhile
    await login(client, agent)
    response = await post_form(client, "/board/move", {"id": ticket["id"], "to": "status:pending", "version": 1})
    assert response.status_code == 409
    assert _(STALE_MOVE) in response.text
    assert 'hx-swap-oob="afterbegin:#cards-status-in_progress"' in response.text
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket["id"]).first())["status"] == "in_progress"


async def test_type_columns_refuse_moves_and_assigned_needs_someone(client, make_user):
    agent = await make_user("customer_service")
    ticket = (await open_tickets(agent, 1))[0]
    await login(client, agent)
    to_type = await post_form(
        client, "/board/move", {"id": ticket["id"], "to": "type:1", "group": "type", "version": 1}
    )
    assert to_type.status_code == 422
    assert _("A ticket keeps its type: cards cannot be moved between type columns.") in to_type.text
    to_assigned = await post_form(client, "/board/move", {"id": ticket["id"], "to": "status:assigned", "version": 1})
    assert (
        to_assigned.status_code == 422
        and _("Assign the ticket to someone before moving it to “Assigned”.") in to_assigned.text
    )
    to_me = await post_form(
        client, "/board/move", {"id": ticket["id"], "to": f"assignee:{agent.id}", "group": "assignee", "version": 1}
    )
    assert to_me.status_code == 200
    row = (
        await Ticket.select(Ticket.status, Ticket.assignee, Ticket.ticket_type).where(Ticket.id == ticket["id"]).first()
    )
    assert row["assignee"] == agent.id and row["status"] == "assigned"  # assigning makes it "assigned"


async def test_people_who_may_not_work_a_ticket_cannot_move_it(client, make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    ticket = await services.create_ticket(teacher, repair())  # visible to the teacher who opened it
    await login(client, teacher)
    response = await post_form(client, "/board/move", {"id": ticket["id"], "to": "status:in_progress", "version": 1})
    assert response.status_code == 403
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket["id"]).first())["status"] == "new"
    assert agent  # the desk could


# Query counts -------------------------------------------------------------------------------------


async def _bulk_open(n: int, start: int, type_id: int, user_id: int) -> None:
    now = datetime.now(UTC)
    await Ticket.insert(
        *[
            Ticket(
                number=f"T-BULK-{start + i:06d}",
                ticket_type=type_id,
                title=f"bulk {i}",
                status=("new", "in_progress")[i % 2],
                assignee=user_id if i % 3 else None,
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ]
    )


@pytest.mark.parametrize(("group", "board_queries"), [("status", 2), ("assignee", 3), ("type", 3)])
async def test_board_costs_a_fixed_number_of_queries(client, make_user, count_queries, group, board_queries):
    """10 or 100 open tickets: the same queries. The board itself is one light query for every
    matching ticket's column, one for the cards shown, one for people or type heads."""
    admin = await make_user("admin")
    type_id = (await services.type_by_code("repair"))["id"]
    await login(client, admin)
    page_counts = []
    for n, start in ((10, 0), (90, 10)):  # 10 open tickets, then 100
        await _bulk_open(n, start, type_id, admin.id)
        with count_queries() as statements:
            shown = await board.load_board(admin, BoardQuery(group=group))
        assert len(statements) == board_queries and shown.total == n + start
        with count_queries() as statements:
            response = await client.get("/board", params={"group": group})
        assert response.status_code == 200
        page_counts.append(len(statements))
    # The page adds the session's user, the filter choices and the bell: still a fixed number.
    assert page_counts[0] == page_counts[1] <= board_queries + 6, page_counts


# Live pushes, rendered per connection -------------------------------------------------------------


async def test_a_change_is_pushed_to_each_subscribed_board_as_its_user_sees_it(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    ticket = (await open_tickets(agent, 1))[0]
    desk_zh, desk_en, outsider, idle = (
        connection(agent),
        connection(agent, "en"),
        connection(teacher),
        connection(agent),
    )
    for conn in (desk_zh, desk_en, outsider):
        await hub_module.handle_message(conn, {"type": "subscribe", "board": {}, "HEADERS": {}})
    moved = await set_status(agent, ticket, "pending")
    event = Event(
        "ticket.updated", {"id": ticket["id"], "status": "pending", "old_status": "new", "version": moved["version"]}
    )

    from app.core.i18n import _current, set_locale

    async def pushed(conn):  # the hub renders each connection in its own locale
        token = set_locale(conn.locale)
        try:
            return await board_realtime.push_board_change(event, conn)
        finally:
            _current.reset(token)

    zh, en = await pushed(desk_zh), await pushed(desk_en)
    assert f'<article id="card-{ticket["id"]}" hx-swap-oob="delete">' in zh
    assert 'hx-swap-oob="afterbegin:#cards-status-pending"' in zh
    assert re.search(r'id="count-status-new"[^>]*>0<', zh) and re.search(r'id="count-status-pending"[^>]*>1<', zh)
    assert 'prio-normal">中<' in zh and 'prio-normal">Medium<' in en
    # The teacher may not see the ticket: the card is only ever removed, never shown.
    hidden = await board_realtime.push_board_change(event, outsider)
    assert "afterbegin" not in hidden and ticket["title"] not in hidden
    assert await board_realtime.push_board_change(event, idle) is None  # not on a board page


async def test_filters_decide_whether_a_pushed_card_appears(make_user):
    agent = await make_user("customer_service")
    ticket = (await open_tickets(agent, 1))[0]
    urgent_only = connection(agent)
    await hub_module.handle_message(urgent_only, {"type": "subscribe", "board": {"priority": "urgent"}})
    event = Event("ticket.updated", {"id": ticket["id"]})
    assert "afterbegin" not in await board_realtime.push_board_change(event, urgent_only)
    await services.update_ticket(agent, ticket["id"], {"priority": "urgent"}, version=None)
    assert "afterbegin:#cards-status-new" in await board_realtime.push_board_change(event, urgent_only)


async def test_resync_after_reconnect_redraws_the_whole_board(make_user):
    agent = await make_user("customer_service")
    ticket = (await open_tickets(agent, 1))[0]
    conn = connection(agent)
    await hub_module.handle_message(conn, {"type": "subscribe", "resync": True, "board": {"group": "status"}})
    assert 'id="board-columns"' in conn.socket.sent[0] and f'id="card-{ticket["id"]}"' in conn.socket.sent[0]
    await hub_module.handle_message(conn, {"type": "unsubscribe", "what": "board"})
    assert "board" not in conn.subscriptions


async def test_a_new_assignee_column_redraws_the_board(make_user):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher", display_name="新老师")
    ticket = (await open_tickets(agent, 1))[0]
    conn = connection(agent)
    await hub_module.handle_message(conn, {"type": "subscribe", "board": {"group": "assignee"}})
    await services.update_ticket(agent, ticket["id"], {"assignee": teacher.id}, version=None)
    html = await board_realtime.push_board_change(Event("ticket.updated", {"id": ticket["id"]}), conn)
    assert 'id="board-columns" class="board-columns" hx-swap-oob="innerHTML"' in html and "新老师" in html
    assert [c.key for c in conn.subscriptions["board"].columns][-1] == str(teacher.id)


# Wall displays --------------------------------------------------------------------------------------


async def test_admin_creates_a_display_and_sees_its_token_once(client, make_user):
    admin = await make_user("admin")
    campus = await make_campus("海淀校区")
    await login(client, admin)
    response = await post_form(client, "/board/displays", {"name": "前台电视", "campus": campus})
    assert response.status_code == 200
    token = re.search(r"token=(bd_[\w-]+)", response.text).group(1)
    stored = await BoardDisplay.select().first()
    assert stored["token_hash"] == displays.hash_token(token) and token not in str(stored)
    listing = await client.get("/board/displays")
    assert "前台电视" in listing.text and token not in listing.text

    empty = await post_form(client, "/board/displays", {"name": ""})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text


async def test_only_admins_manage_displays(client, make_user):
    supervisor = await make_user("supervisor")
    await login(client, supervisor)
    assert (await client.get("/board/displays")).status_code == 403
    assert (await post_form(client, "/board/displays", {"name": "x"})).status_code == 403
    assert await BoardDisplay.count() == 0


async def test_display_token_opens_the_campus_board_until_revoked(client, make_user):
    admin = await make_user("admin")
    agent = await make_user("customer_service")
    here, elsewhere = await make_campus(), await make_campus()
    ours = await services.create_ticket(agent, repair(title="本校区投影仪", campus_id=here))
    await services.create_ticket(agent, repair(title="别的校区空调", campus_id=elsewhere))
    created, token = await displays.create_display(admin, "大厅", here)

    page = await client.get("/board/display", params={"token": token})  # no login
    assert page.status_code == 200 and "本校区投影仪" in page.text and "别的校区空调" not in page.text
    assert f'ws-connect="/ws?display={token}"' in page.text and "/board/move" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert (await displays.verify_token(token))["id"] == created["id"] and ours

    assert (await client.get("/board/display", params={"token": "bd_wrong"})).status_code == 403
    await displays.revoke_display(admin, created["id"])
    assert await displays.verify_token(token) is None
    assert (await client.get("/board/display", params={"token": token})).status_code == 403


async def test_a_display_connection_is_read_only_and_dropped_when_revoked(make_user):
    admin = await make_user("admin")
    agent = await make_user("customer_service")
    campus = await make_campus()
    ticket = await services.create_ticket(agent, repair(campus_id=campus))
    created, token = await displays.create_display(admin, "大厅", campus)
    viewer, display_id = await displays.display_viewer(token)
    conn = connection(viewer, display_id=display_id)
    await hub_module.connected(conn)
    assert f'id="card-{ticket["id"]}"' in conn.socket.sent[0] and "board/move" not in conn.socket.sent[0]
    assert (await BoardDisplay.select(BoardDisplay.last_seen_at).first())["last_seen_at"] is not None
    await hub_module.handle_message(conn, {"type": "subscribe", "board": {"campus": ""}})  # cannot widen its view
    assert conn.subscriptions["board"].query.campus == campus
    await hub_module.handle_message(conn, {"type": "view_ticket", "id": ticket["id"]})
    assert "ticket" not in conn.subscriptions  # a TV is never "present" on a ticket
    await displays.revoke_display(admin, created["id"])
    await hub_module.tick(conn)
    assert conn.socket.closed == 4403


# Presence ----------------------------------------------------------------------------------------------


async def test_presence_lists_viewers_and_forgets_them_after_thirty_seconds():
    clock = FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    store = presence.PresenceStore(clock=clock)
    assert await store.touch(7, "tab-a", 1, "王老师", typing=False) is True
    assert await store.touch(7, "tab-b", 2, "李客服", typing=False) is True
    assert await store.touch(7, "tab-a", 1, "王老师", typing=False) is False  # a heartbeat changes nothing
    assert await store.touch(7, "tab-b", 2, "李客服", typing=True) is True
    assert [(v.name, v.typing) for v in await store.viewers(7)] == [("李客服", True), ("王老师", False)]

    clock.advance(seconds=20)
    await store.touch(7, "tab-b", 2, "李客服", typing=True)
    clock.advance(seconds=11)  # tab-a last reported 31 s ago
    assert [v.name for v in await store.viewers(7)] == ["李客服"]
    assert await store.touch(7, "tab-b", 2, "李客服", typing=True) is True  # pruning tab-a is a change
    assert await store.leave(7, "tab-b") is True and await store.viewers(7) == []


async def test_viewing_a_ticket_and_closing_the_tab(make_user):
    agent = await make_user("customer_service", display_name="王客服")
    other = await make_user("customer_service", display_name="李客服")
    teacher = await make_user("teacher")
    ticket = (await open_tickets(agent, 1))[0]
    mine, theirs, outsider = connection(agent), connection(other), connection(teacher)
    for conn in (mine, theirs, outsider):
        await hub_module.handle_message(conn, {"type": "view_ticket", "id": str(ticket["id"]), "typing": "0"})
    assert "ticket" not in outsider.subscriptions  # may not see the ticket: not present either
    await hub_module.handle_message(theirs, {"type": "view_ticket", "id": str(ticket["id"]), "typing": "1"})

    event = Event("presence.changed", {"ticket": ticket["id"]})
    html = await board_realtime.push_presence(event, mine)
    assert (
        f'id="presence-{ticket["id"]}"' in html
        and "李客服" in html
        and _("is replying") in html
        and "王客服" not in html
    )
    assert await board_realtime.push_presence(event, outsider) is None

    await hub_module.disconnected(theirs)  # the tab closed
    assert [v.name for v in await presence.store.viewers(ticket["id"])] == ["王客服"]
    assert "李客服" not in await board_realtime.push_presence(event, mine)
