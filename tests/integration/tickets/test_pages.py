"""Ticket pages: list with filters and saved views, the create form, the detail page, attachments."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from markupsafe import escape

from app.core import i18n
from app.settings import get_settings
from app.tickets import services
from app.tickets.attachments import MAX_BYTES
from app.tickets.services import Draft
from tables.students.tables import Student
from tables.tickets.tables import SavedView, Ticket, TicketActivity, TicketAttachment, TicketType, TicketWatcher
from tests.support import make_campus, post_form, repair

RESULTS = {"HX-Request": "true", "HX-Target": "ticket-results"}
HTMX = {"HX-Request": "true", "HX-Target": "main"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def zh(msgid: str, **params) -> str:
    """The text a zh_CN page shows for a msgid (the msgid itself while it awaits translation)."""
    token = i18n.set_locale("zh_CN")
    try:
        return str(escape(i18n.gettext(msgid, **params)))
    finally:
        i18n._current.reset(token)


async def switch(client, login, user) -> None:
    """Log in as another user in the same client (a logged-in client is sent away from /login)."""
    client.cookies.clear()
    await login(client, user)


async def _agent(make_user, login, client, **kwargs):
    agent = await make_user("customer_service", **kwargs)
    await login(client, agent)
    return agent


def numbers(html: str) -> set[str]:
    return set(re.findall(r'class="tk-number" href="/tickets/\d+">(T-\d{4}-\d{6})<', html))


# --- the list -------------------------------------------------------------------------------


async def test_list_filters_search_and_paging(client, make_user, login):
    agent = await _agent(make_user, login, client)
    other = await make_user("customer_service", display_name="另一位")
    campus = await make_campus()
    projector = await services.create_ticket(agent, repair(tags=["投影"]))
    leak = await services.create_ticket(
        agent,
        repair(
            title="空调漏水",
            priority="urgent",
            assignee_id=other.id,
            fields={"location": "201", "equipment": "空调"},
            campus_id=campus,
        ),
    )
    asked = await services.create_ticket(
        agent, Draft(type="consultation", title="暑假班咨询", fields={"course_interest": ["数学"]})
    )
    await services.update_ticket(agent, asked["id"], {"status": "in_progress"}, version=asked["version"])
    week_ago = datetime.now(UTC) - timedelta(days=7)
    await Ticket.update({Ticket.created_at: week_ago, Ticket.due_at: week_ago}).where(Ticket.id == asked["id"])

    async def shown(**params) -> set[str]:
        response = await client.get("/tickets", params=params, headers=RESULTS)
        assert response.status_code == 200 and "<title>" not in response.text
        return numbers(response.text)

    every = {projector["number"], leak["number"], asked["number"]}
    assert await shown() == every
    assert await shown(q="漏水") == {leak["number"]}
    assert await shown(q=leak["number"]) == {leak["number"]}
    assert await shown(status=["new", "assigned"]) == {projector["number"], leak["number"]}
    assert await shown(type="consultation") == {asked["number"]}
    assert await shown(priority="urgent") == {leak["number"]}
    assert await shown(assignee="none") == {projector["number"], asked["number"]}
    assert await shown(assignee=str(other.id)) == {leak["number"]}
    assert await shown(campus=str(campus)) == {leak["number"]}
    assert await shown(tag="投影") == {projector["number"]}
    assert await shown(overdue="1") == {asked["number"]}
    today = datetime.now(timezone(timedelta(hours=8))).date()
    assert await shown(created_from=(today - timedelta(days=1)).isoformat()) == {projector["number"], leak["number"]}
    assert await shown(created_to=(today - timedelta(days=2)).isoformat()) == {asked["number"]}

    narrowed = await client.get("/tickets", params={"status": "new", "type": "", "q": "漏水"}, headers=RESULTS)
    assert narrowed.headers["HX-Push-Url"] == "/tickets?q=%E6%BC%8F%E6%B0%B4&status=new"  # empty filters dropped
    full = await client.get("/tickets", params={"status": ["new", "pending"], "priority": "urgent"})
    assert 'value="new" checked' in full.text and 'value="pending" checked' in full.text
    assert '<option value="urgent" selected' in full.text
    bad = await client.get("/tickets", params={"created_from": "yesterday"})
    assert bad.status_code == 422 and 'name="created_from" value="yesterday"' in bad.text
    assert 'aria-invalid="true" aria-describedby="filter-created_from-error"' in bad.text

    first = await client.get("/tickets", params={"limit": 2, "type": "repair"})
    second = await client.get("/tickets", params={"limit": 2, "offset": 2, "type": "repair"})
    assert numbers(first.text) == {projector["number"], leak["number"]} and numbers(second.text) == set()
    await services.create_ticket(agent, repair(title="第三张"))
    first = await client.get("/tickets", params={"limit": 2, "type": "repair"})
    assert len(numbers(first.text)) == 2 and 'href="/tickets?type=repair&amp;offset=2&limit=2"' in first.text


async def test_empty_states_tell_apart_no_tickets_and_no_matches(client, make_user, login):
    await _agent(make_user, login, client)
    assert zh("No tickets yet.") in (await client.get("/tickets")).text
    await services.create_ticket(await make_user("customer_service"), repair())
    assert zh("No tickets match these filters.") in (await client.get("/tickets", params={"q": "没有这个"})).text


async def test_saved_views_store_the_filters_and_belong_to_their_user(client, make_user, login):
    agent = await _agent(make_user, login, client)
    saved = await post_form(
        client,
        "/tickets/views",
        {"view_name": "紧急未分配", "q": "", "priority": "urgent", "assignee": "none", "status": ["new"], "type": ""},
        headers={"HX-Request": "true", "HX-Target": "saved-views"},
    )
    assert saved.status_code == 200
    view = await SavedView.select().where(SavedView.user == agent.id).first()
    assert view["name"] == "紧急未分配" and view["query"] == "status=new&priority=urgent&assignee=none"
    listing = await client.get("/tickets", params={"priority": "urgent", "assignee": "none", "status": "new"})
    assert f'href="/tickets?{escape(view["query"])}" aria-current="true"' in listing.text

    again = await post_form(client, "/tickets/views", {"view_name": "  ", "q": ""}, headers={"HX-Request": "true"})
    assert again.status_code == 422 and 'id="f-view_name"' in again.text and 'aria-invalid="true"' in again.text
    assert await SavedView.count() == 1

    stranger = await make_user("customer_service")
    await switch(client, login, stranger)
    assert (await post_form(client, f"/tickets/views/{view['id']}/delete", {})).status_code == 404
    assert "紧急未分配" not in (await client.get("/tickets")).text
    await switch(client, login, agent)
    deleted = await post_form(client, f"/tickets/views/{view['id']}/delete", {}, headers={"HX-Request": "true"})
    assert deleted.status_code == 200 and await SavedView.count() == 0


async def test_list_and_detail_show_only_visible_tickets(client, make_user, login):
    agent = await make_user("customer_service")
    teacher = await make_user("teacher")
    mine = await services.create_ticket(teacher, repair(title="老师报修"))
    theirs = await services.create_ticket(agent, repair(title="前台报修"))
    await login(client, teacher)
    assert numbers((await client.get("/tickets")).text) == {mine["number"]}
    assert (await client.get(f"/tickets/{theirs['id']}")).status_code == 404
    assert (await client.get(f"/tickets/{mine['id']}")).status_code == 200


@pytest.mark.parametrize("role", ["customer_service", "teacher"])
async def test_ticket_list_runs_a_fixed_number_of_queries(client, make_user, login, count_queries, role):
    agent = await make_user(role, campus=await make_campus())
    await login(client, agent)
    type_id = (await TicketType.select(TicketType.id).where(TicketType.code == "repair").first())["id"]
    counts = []
    for total in (5, 40):
        await Ticket.delete(force=True)
        await Ticket.insert(
            *[
                Ticket(
                    number=f"T-2026-{n:06d}",
                    ticket_type=type_id,
                    title=f"报修{n}",
                    assignee=agent.id,
                    created_by=agent.id,
                    requester_name="家长",
                )
                for n in range(total)
            ]
        )
        with count_queries() as statements:
            response = await client.get("/tickets", params={"limit": 50})
        assert response.status_code == 200 and len(numbers(response.text)) == total
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 12


# --- creating -------------------------------------------------------------------------------


REFUND = {
    "type": "refund",
    "title": "搬家退费",
    "priority": "high",
    "channel": "phone",
    "requester_kind": "guardian",
    "requester_name": "王女士",
    "requester_phone": "13800138000",
    "tags": "退费, 搬家",
    "fields.contract_no": "HT-2026-001",
    "fields.amount": "1,280",
    "fields.reason": "搬家",
    "fields.account_name": "王芳",
}


async def test_create_a_ticket_from_the_type_form(client, make_user, login):
    await _agent(make_user, login, client)
    choose = await client.get("/tickets/new")
    assert 'href="/tickets/new/refund"' in choose.text and "退费申请" in choose.text
    form = await client.get("/tickets/new/refund")
    assert 'name="fields.amount"' in form.text and 'name="fields.proof" type="file"' in form.text
    assert '<option value="phone" selected' in form.text  # staff usually type in a phone call

    files = [
        ("fields.proof", ("收据.png", PNG, "image/png")),
        ("files", ("聊天记录.txt", "退费".encode(), "text/plain")),
    ]
    created = await post_form(client, "/tickets", REFUND, files=files)
    assert created.status_code == 303
    ticket = await Ticket.select().where(Ticket.title == "搬家退费").first().output(load_json=True)
    assert created.headers["location"] == f"/tickets/{ticket['id']}"
    stored = await TicketAttachment.select().where(TicketAttachment.ticket == ticket["id"])
    proof, chat = sorted(stored, key=lambda row: row["field_key"], reverse=True)
    assert ticket["fields"] == {
        "contract_no": "HT-2026-001",
        "amount": "1280.00",
        "reason": "搬家",
        "account_name": "王芳",
        "proof": proof["id"],
    }
    assert proof["field_key"] == "proof" and proof["filename"] == "收据.png"
    opened = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "created").first()
    assert chat["field_key"] == "" and chat["activity"] == opened["id"]  # shown with "created the ticket"
    detail = await client.get(created.headers["location"])
    assert "¥1,280.00" in detail.text and f"/tickets/{ticket['id']}/attachments/{proof['id']}" in detail.text


async def test_invalid_form_answers_422_inline_and_keeps_every_value(client, make_user, login):
    await _agent(make_user, login, client)
    data = {**REFUND, "title": "", "fields.amount": "一千", "fields.reason": ""}
    response = await post_form(client, "/tickets", data, headers=HTMX)
    assert response.status_code == 422 and await Ticket.count() == 0
    text = response.text
    assert re.search(r'id="f-title"[^>]*aria-invalid="true"', text)
    assert re.search(r'id="f-fields-amount"[^>]*value="一千"[^>]*aria-invalid="true"', text, re.S)
    assert re.search(r'id="f-fields-reason"[^>]*aria-invalid="true"', text)
    assert 'id="f-fields-amount-error"' in text and zh("Enter a number.") in text
    assert 'value="HT-2026-001"' in text and 'value="王女士"' in text and 'value="退费, 搬家"' in text
    assert '<option value="high" selected' in text and "<html" not in text


async def test_every_field_type_renders_accessibly_and_keeps_what_was_typed(client, make_user, login):
    kinds = [
        "text",
        "long_text",
        "number",
        "money",
        "date",
        "datetime",
        "select",
        "multi_select",
        "boolean",
        "student",
        "class_group",
        "attachment",
    ]
    fields = [
        {
            "key": f"f_{k}",
            "label": f"字段{k}",
            "type": k,
            "required": True,
            "help": f"帮助{k}",
            "order": i,
            "options": ["甲", "乙"] if k in ("select", "multi_select") else [],
            "archived": False,
        }
        for i, k in enumerate(kinds)
    ]
    await TicketType.insert(TicketType(code="everything", name="全部类型", fields=fields))
    await _agent(make_user, login, client)
    student = (await Student.insert(Student(name="张小明")).returning(Student.id))[0]["id"]
    form = (await client.get("/tickets/new/everything")).text
    for k in kinds:
        assert f'name="fields.f_{k}"' in form, k
        assert f'id="f-fields-f_{k}-help"' in form, k
    assert 'type="date"' in form and 'type="datetime-local"' in form and 'type="file"' in form
    assert f'<option value="{student}"' in form and "张小明" in form

    typed = {
        "type": "everything",
        "title": "测试",
        "fields.f_text": "一行",
        "fields.f_long_text": "多行\n文字",
        "fields.f_number": "abc",
        "fields.f_money": "12.5",
        "fields.f_date": "2026-13-01",
        "fields.f_datetime": "2026-12-01T14:30",
        "fields.f_select": "乙",
        "fields.f_multi_select": ["甲", "乙"],
        "fields.f_boolean": "0",
        "fields.f_student": str(student),
        "fields.f_class_group": "",
    }
    response = await post_form(client, "/tickets", typed, headers=HTMX)
    text = response.text
    assert response.status_code == 422
    errors = set(re.findall(r'id="f-fields-(f_\w+)-error"', text))
    assert errors == {"f_number", "f_date", "f_class_group", "f_attachment"}
    assert 'value="abc"' in text and 'value="12.5"' in text and 'value="2026-13-01"' in text
    assert ">多行\n文字</textarea>" in text and 'value="2026-12-01T14:30"' in text
    assert '<option value="乙" selected' in text
    assert 'value="甲" checked' in text and 'value="乙" checked' in text
    assert re.search(r'name="fields.f_boolean" value="0" checked', text)
    assert re.search(rf'<option value="{student}" selected', text)


async def test_pickers_offer_only_students_the_user_looks_after(client, make_user, login):
    teacher = await make_user("class_teacher")
    mine = (await Student.insert(Student(name="张小明", class_teacher=teacher.id)).returning(Student.id))[0]["id"]
    other = (await Student.insert(Student(name="张小红")).returning(Student.id))[0]["id"]
    await login(client, teacher)
    options = await client.get("/tickets/pickers/students", params={"q": "张"}, headers={"HX-Request": "true"})
    assert f'<option value="{mine}">' in options.text and f'value="{other}"' not in options.text
    data = {
        "type": "repair",
        "title": "教室灯坏了",
        "fields.location": "201",
        "fields.equipment": "其他",
        "student_id": str(other),
    }
    refused = await post_form(client, "/tickets", data, headers=HTMX)
    assert refused.status_code == 422 and re.search(r'id="f-student_id"[^>]*aria-invalid="true"', refused.text)
    assert await Ticket.count() == 0
    created = await post_form(client, "/tickets", {**data, "student_id": str(mine)})
    assert created.status_code == 303 and (await Ticket.select(Ticket.student).first())["student"] == mine


# --- the detail page ------------------------------------------------------------------------


def moves(html: str) -> set[str]:
    return set(re.findall(r'name="status" value="(\w+)"', html))


async def test_detail_offers_only_the_allowed_moves(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    page = (await client.get(f"/tickets/{ticket['id']}")).text
    assert moves(page) == {"assigned", "in_progress", "pending", "resolved", "closed"}
    assert f'id="presence-{ticket["id"]}" class="presence"' in page
    assert f'name="version" value="{ticket["version"]}"' in page and "/claim" in page
    posts = re.findall(r"<form[^>]*hx-post=\"/tickets/[^>]*>", page)
    assert len(posts) >= 6 and all('hx-push-url="false"' in f for f in posts)  # a POST URL never lands in history
    closed = await services.update_ticket(agent, ticket["id"], {"status": "closed"}, version=ticket["version"])
    page = (await client.get(f"/tickets/{ticket['id']}")).text
    assert moves(page) == {"in_progress"} and zh("Reopen") in page

    teacher = await make_user("teacher")
    await TicketWatcher.insert(TicketWatcher(ticket=ticket["id"], user=teacher.id))  # a colleague copied in
    await switch(client, login, teacher)
    page = (await client.get(f"/tickets/{ticket['id']}")).text
    assert moves(page) == set() and "/claim" not in page and f'action="/tickets/{ticket["id"]}/fields"' not in page
    refused = await post_form(
        client, f"/tickets/{ticket['id']}/update", {"status": "in_progress", "version": closed["version"]}
    )
    assert refused.status_code == 403
    for url in ("fields", "claim", "attachments"):
        assert (
            await post_form(client, f"/tickets/{ticket['id']}/{url}", {"version": closed["version"]})
        ).status_code == 403
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket["id"]).first())["status"] == "closed"


async def test_status_change_through_the_page_and_an_illegal_one(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    moved = await post_form(
        client, f"/tickets/{ticket['id']}/update", {"status": "in_progress", "version": 1}, headers=HTMX
    )
    assert moved.status_code == 200 and zh("Status changed.") in moved.text
    assert 'name="version" value="2"' in moved.text and moves(moved.text) == {
        "assigned",
        "pending",
        "resolved",
        "closed",
    }
    illegal = await post_form(client, f"/tickets/{ticket['id']}/update", {"status": "new", "version": 2}, headers=HTMX)
    assert illegal.status_code == 422 and 'role="alert"' in illegal.text
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket["id"]).first())["status"] == "in_progress"
    timeline = await TicketActivity.select(TicketActivity.kind).where(TicketActivity.ticket == ticket["id"])
    assert [r["kind"] for r in timeline] == ["created", "status"]


async def test_stale_version_is_refused_and_the_typed_reply_is_kept(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    await services.update_ticket(await make_user("customer_service"), ticket["id"], {"priority": "high"}, version=1)

    stale = await post_form(client, f"/tickets/{ticket['id']}/update", {"priority": "low", "version": 1}, headers=HTMX)
    assert stale.status_code == 409 and zh(services._conflict().detail) in stale.text
    assert (await Ticket.select(Ticket.priority).where(Ticket.id == ticket["id"]).first())["priority"] == "high"

    reply = await post_form(
        client, f"/tickets/{ticket['id']}/messages", {"body": "已安排师傅明早上门", "version": 1}, headers=HTMX
    )
    assert reply.status_code == 409 and zh(services._conflict().detail) in reply.text
    assert ">已安排师傅明早上门</textarea>" in reply.text and 'name="version" value="2"' in reply.text
    assert await TicketActivity.count().where(TicketActivity.kind == "reply") == 0


async def test_replies_and_internal_notes_read_differently(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    sent = await post_form(
        client, f"/tickets/{ticket['id']}/messages", {"body": "您好，已收到", "version": 1}, headers=HTMX
    )
    assert sent.status_code == 200
    noted = await post_form(
        client,
        f"/tickets/{ticket['id']}/messages",
        {"body": "家长情绪较大，注意沟通", "internal": "1", "version": 2},
        headers=HTMX,
    )
    page = noted.text
    reply_item = re.search(r'<li id="a\d+" class="tk-event tk-event-reply tk-message">(.*?)</li>', page, re.S).group(1)
    note_item = re.search(r'<li id="a\d+" class="tk-event tk-event-note tk-message">(.*?)</li>', page, re.S).group(1)
    assert "您好，已收到" in reply_item and zh("Internal note") not in reply_item
    assert "家长情绪较大" in note_item and f'<span class="tk-note-label">{zh("Internal note")}</span>' in note_item
    rows = (
        await TicketActivity.select(TicketActivity.kind, TicketActivity.is_public)
        .where(TicketActivity.kind.is_in(["reply", "note"]))
        .order_by(TicketActivity.id)
    )
    assert rows == [{"kind": "reply", "is_public": True}, {"kind": "note", "is_public": False}]
    empty = await post_form(client, f"/tickets/{ticket['id']}/messages", {"body": " ", "version": 3}, headers=HTMX)
    assert empty.status_code == 422 and re.search(r'id="f-body"[^>]*aria-invalid="true"', empty.text)


async def test_claim_and_a_lost_race(client, make_user, login):
    agent = await _agent(make_user, login, client, display_name="小李")
    ticket = await services.create_ticket(agent, repair())
    claimed = await post_form(client, f"/tickets/{ticket['id']}/claim", {"version": 1}, headers=HTMX)
    assert claimed.status_code == 200 and "/claim" not in claimed.text
    row = await Ticket.select(Ticket.assignee, Ticket.status).where(Ticket.id == ticket["id"]).first()
    assert row == {"assignee": agent.id, "status": "assigned"}
    await switch(client, login, await make_user("customer_service"))
    late = await post_form(client, f"/tickets/{ticket['id']}/claim", {"version": 1}, headers=HTMX)
    assert late.status_code == 409 and zh("Someone else has already taken this ticket.") in late.text


async def test_watch_and_unwatch(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(await make_user("customer_service"), repair())
    watched = await post_form(client, f"/tickets/{ticket['id']}/watch", {"watching": "1", "version": 1}, headers=HTMX)
    assert watched.status_code == 200 and 'aria-pressed="true"' in watched.text
    assert await TicketWatcher.exists().where(TicketWatcher.user == agent.id)
    unwatched = await post_form(client, f"/tickets/{ticket['id']}/watch", {"watching": "0", "version": 1}, headers=HTMX)
    assert 'aria-pressed="false"' in unwatched.text and await TicketWatcher.count() == 0


async def test_custom_fields_are_edited_with_the_version(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    data = {"version": 1, "fields.location": "5 楼 501", "fields.equipment": "空调"}
    saved = await post_form(client, f"/tickets/{ticket['id']}/fields", data, headers=HTMX)
    assert saved.status_code == 200 and "5 楼 501" in saved.text
    row = (
        await Ticket.select(Ticket.fields, Ticket.version)
        .where(Ticket.id == ticket["id"])
        .first()
        .output(load_json=True)
    )
    assert row["fields"] == {"location": "5 楼 501", "equipment": "空调"} and row["version"] == 2
    bad = await post_form(
        client, f"/tickets/{ticket['id']}/fields", {**data, "version": 2, "fields.location": ""}, headers=HTMX
    )
    assert bad.status_code == 422 and re.search(r'id="f-fields-location"[^>]*aria-invalid="true"', bad.text)
    assert '<details class="tk-edit" open' in bad.text


# --- attachments ----------------------------------------------------------------------------


async def test_attachments_upload_download_and_limits(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    url = f"/tickets/{ticket['id']}/attachments"
    ok = await post_form(
        client,
        url,
        {"version": 1},
        headers=HTMX,
        files=[("files", ("现场.png", PNG, "image/png")), ("files", ("说明.txt", "灯不亮".encode(), "text/plain"))],
    )
    assert ok.status_code == 200 and "现场.png" in ok.text and "说明.txt" in ok.text
    rows = await TicketAttachment.select().where(TicketAttachment.ticket == ticket["id"]).order_by(TicketAttachment.id)
    assert [r["content_type"] for r in rows] == ["image/png", "text/plain; charset=utf-8"]
    now = datetime.now(UTC)
    stored = Path(get_settings().var_dir) / "attachments" / rows[0]["stored_name"]
    assert rows[0]["stored_name"].startswith(f"{now:%Y}/{now:%m}/") and stored.read_bytes() == PNG

    download = await client.get(f"{url}/{rows[0]['id']}")
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-type"].startswith("image/png")

    too_big = await post_form(
        client, url, {"version": 1}, headers=HTMX, files={"files": ("大图.png", PNG + b"\x00" * MAX_BYTES, "image/png")}
    )
    assert too_big.status_code == 413 and 'id="f-upload-files-error"' in too_big.text and "大图.png" in too_big.text
    fake = await post_form(
        client,
        url,
        {"version": 1},
        headers=HTMX,
        files={"files": ("照片.png", b"<html><script>alert(1)</script>", "image/png")},
    )
    assert fake.status_code == 415 and 'id="f-upload-files-error"' in fake.text and "照片.png" in fake.text
    program = await post_form(
        client,
        url,
        {"version": 1},
        headers=HTMX,
        files={"files": ("setup.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert program.status_code == 415
    reply = await post_form(
        client,
        f"/tickets/{ticket['id']}/messages",
        {"body": "见附件", "version": 1},
        headers=HTMX,
        files={"files": ("a.html", b"<b>x</b>", "text/html")},
    )
    assert reply.status_code == 415 and 'id="f-reply-files-error"' in reply.text and ">见附件</textarea>" in reply.text
    assert (
        await TicketAttachment.count() == 2 and await TicketActivity.count().where(TicketActivity.kind == "reply") == 0
    )

    outsider = await make_user("teacher")
    await switch(client, login, outsider)
    assert (await client.get(f"{url}/{rows[0]['id']}")).status_code == 404


async def test_reply_files_belong_to_the_reply(client, make_user, login):
    agent = await _agent(make_user, login, client)
    ticket = await services.create_ticket(agent, repair())
    sent = await post_form(
        client,
        f"/tickets/{ticket['id']}/messages",
        {"body": "见截图", "version": 1},
        headers=HTMX,
        files={"files": ("截图.png", PNG, "image/png")},
    )
    assert sent.status_code == 200
    reply = await TicketActivity.select(TicketActivity.id).where(TicketActivity.kind == "reply").first()
    attachment = await TicketAttachment.select(TicketAttachment.activity).first()
    assert attachment["activity"] == reply["id"]
    item = re.search(rf'<li id="a{reply["id"]}"[^>]*>(.*?)</li>\s*</ol>', sent.text, re.S).group(1)
    assert "截图.png" in item
