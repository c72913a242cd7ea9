"""The public intake: forms per ticket type, honeypot, rate limit, tracking page, requester replies, CSAT."""

from __future__ import annotations

import re

from app.tickets import services
from app.tickets.intake import csat
from tables.notifications.tables import Notification
from tables.tickets.tables import Ticket, TicketActivity, TicketType
from tests.support import login, post_form

EN = {"Accept-Language": "en"}
REPAIR_FORM = {
    "title": "302 教室空调漏水",
    "fields.location": "3 楼 302",
    "fields.equipment": "空调",
    "description": "下课后发现地上有水",
    "requester_name": "王女士",
    "requester_phone": "138-0013-8000",
    "student_name": "王小明",
}


async def _submit(client, code: str = "repair", **overrides):
    await client.get(f"/submit/{code}")  # sets the CSRF cookie, as a browser would have it
    return await post_form(client, f"/submit/{code}", {**REPAIR_FORM, **overrides})


async def _tracked(client) -> tuple[dict, str]:
    response = await _submit(client)
    assert response.status_code == 303, response.text
    ticket = await Ticket.select().first().output(load_json=True)
    return ticket, response.headers["location"]


async def test_the_index_lists_active_public_types_without_a_login(client):
    await TicketType.update({TicketType.public_intake: False}).where(TicketType.code == "refund")
    response = await client.get("/submit")
    assert response.status_code == 200
    assert 'href="/submit/repair"' in response.text and "设备报修" in response.text
    assert 'href="/submit/refund"' not in response.text
    assert 'class="shell"' not in response.text  # the bare public page, no staff navigation
    assert (await client.get("/submit/refund")).status_code == 404


async def test_the_form_renders_public_fields_only(client):
    page = (await client.get("/submit/repair")).text
    for name in (
        "title",
        "fields.location",
        "fields.equipment",
        "description",
        "requester_name",
        "requester_phone",
        "requester_email",
        "student_name",
        "website",
        "_csrf_token",
    ):
        assert f'name="{name}"' in page, name
    assert 'name="fields.photo"' not in page  # attachments are not offered to the public
    assert 'name="priority"' not in page and 'name="assignee' not in page
    leave = (await client.get("/submit/leave_reschedule")).text
    assert 'name="fields.class_group"' not in leave and 'name="about.class_group"' in leave
    assert 'name="fields.lesson_date"' in leave and 'type="date"' in leave


async def test_a_submission_creates_a_web_ticket_and_shows_its_number_and_tracking_link(client):
    ticket, location = await _tracked(client)
    assert location == f"/track/{ticket['tracking_token']}?received=1"
    assert (ticket["channel"], ticket["status"], ticket["created_by"]) == ("web", "new", None)
    assert (ticket["requester_name"], ticket["requester_phone"]) == ("王女士", "13800138000")
    assert ticket["fields"] == {"location": "3 楼 302", "equipment": "空调"}
    assert ticket["description"].startswith("下课后发现地上有水") and "王小明" in ticket["description"]
    page = await client.get(location, headers=EN)
    assert page.status_code == 200
    assert ticket["number"] in page.text
    assert f"http://testserver.local/track/{ticket['tracking_token']}" in page.text
    assert "We have received your request" in page.text


async def test_a_type_with_a_required_class_field_takes_the_class_name_as_text(client):
    response = await _submit(
        client,
        "leave_reschedule",
        **{
            "fields.location": "",
            "fields.equipment": "",
            "fields.lesson_date": "2026-12-01",
            "fields.reason": "生病",
            "fields.makeup_wanted": "1",
            "about.class_group": "三年级数学A班",
            "title": "请假一天",
        },
    )
    assert response.status_code == 303, response.text
    ticket = await Ticket.select().first().output(load_json=True)
    assert ticket["fields"] == {"lesson_date": "2026-12-01", "reason": "生病", "makeup_wanted": True}
    assert "三年级数学A班" in ticket["description"] and ticket["class_group"] is None
    assert [a["kind"] for a in await TicketActivity.select(TicketActivity.kind)] == ["created"]


async def test_a_required_class_field_must_be_described(client):
    response = await _submit(
        client,
        "leave_reschedule",
        **{"fields.lesson_date": "2026-12-01", "fields.reason": "生病", "fields.location": "", "fields.equipment": ""},
    )
    assert response.status_code == 422 and 'id="f-about.class_group-error"' in response.text
    assert await Ticket.count() == 0


async def test_missing_phone_is_422_naming_requester_phone_and_keeps_what_was_typed(client):
    response = await _submit(client, requester_phone="", **{"fields.equipment": "火箭"})
    assert response.status_code == 422
    assert re.search(r'id="f-requester_phone"[^>]*aria-invalid="true"', response.text)
    assert 'id="f-requester_phone-error"' in response.text
    assert 'id="f-fields-equipment-error"' in response.text
    assert 'value="302 教室空调漏水"' in response.text and "下课后发现地上有水" in response.text
    bad = await _submit(client, requester_phone="12345")
    assert bad.status_code == 422 and 'id="f-requester_phone-error"' in bad.text
    assert await Ticket.count() == 0


async def test_the_honeypot_pretends_success_and_stores_nothing(client):
    response = await _submit(client, website="http://spam.example")
    assert response.status_code == 303 and response.headers["location"] == "/submit/repair/thanks"
    assert (await client.get("/submit/repair/thanks")).status_code == 200
    assert await Ticket.count() == 0


async def test_more_than_five_submissions_in_ten_minutes_are_refused_with_429(client):
    for _ in range(5):
        assert (await _submit(client)).status_code == 303
    refused = await _submit(client)
    assert refused.status_code == 429
    assert "Please try again in 10 minutes" in (await post_form(client, "/submit/repair", REPAIR_FORM, headers=EN)).text
    assert await Ticket.count() == 5


async def test_the_form_needs_its_csrf_token(client):
    await client.get("/submit/repair")
    response = await client.post("/submit/repair", data=REPAIR_FORM)
    assert response.status_code == 403
    assert await Ticket.count() == 0


async def test_the_tracking_page_shows_public_replies_and_never_internal_notes(client, make_user):
    ticket, _location = await _tracked(client)
    agent = await make_user("customer_service", display_name="客服小李")
    await services.add_message(agent, ticket["id"], "师傅明天上午来修", public=True)
    await services.add_message(agent, ticket["id"], "内部：上次也是这台空调", public=False)
    page = (await client.get(f"/track/{ticket['tracking_token']}")).text
    assert "师傅明天上午来修" in page and "客服小李" in page
    assert "内部：上次也是这台空调" not in page
    assert (await client.get("/track/" + "x" * 43)).status_code == 404


async def test_a_requester_reply_resumes_a_pending_ticket_and_tells_the_assignee(client, make_user):
    ticket, _location = await _tracked(client)
    agent = await make_user("customer_service")
    await services.update_ticket(agent, ticket["id"], {"assignee": agent.id, "status": "pending"}, version=None)
    response = await post_form(client, f"/track/{ticket['tracking_token']}/reply", {"body": "今天下午有人在"})
    assert response.status_code == 303
    stored = await Ticket.select(Ticket.status, Ticket.version).where(Ticket.id == ticket["id"]).first()
    assert stored == {"status": "in_progress", "version": 3}
    rows = (
        await TicketActivity.select(
            TicketActivity.kind, TicketActivity.actor, TicketActivity.is_public, TicketActivity.changes
        )
        .order_by(TicketActivity.id)
        .output(load_json=True)
    )
    assert rows[-2:] == [
        {"kind": "reply", "actor": None, "is_public": True, "changes": {"by": "requester"}},
        {
            "kind": "status",
            "actor": None,
            "is_public": False,
            "changes": {"status": ["pending", "in_progress"], "by": "requester"},
        },
    ]
    assert [n["recipient"] for n in await Notification.select(Notification.recipient)] == [agent.id]
    assert "今天下午有人在" in (await client.get(f"/track/{ticket['tracking_token']}")).text


async def test_a_reply_on_an_open_ticket_keeps_its_status_and_an_empty_one_is_422(client):
    ticket, _location = await _tracked(client)
    assert (
        await post_form(client, f"/track/{ticket['tracking_token']}/reply", {"body": "补充：漏水很严重"})
    ).status_code == 303
    assert (await Ticket.select(Ticket.status).first())["status"] == "new"
    empty = await post_form(client, f"/track/{ticket['tracking_token']}/reply", {"body": "  "})
    assert empty.status_code == 422 and 'id="f-body-error"' in empty.text
    assert await TicketActivity.count().where(TicketActivity.kind == "reply") == 1


async def test_a_closed_ticket_takes_no_more_replies(client, make_user):
    ticket, _location = await _tracked(client)
    await services.update_ticket(await make_user("customer_service"), ticket["id"], {"status": "closed"}, version=None)
    page = (await client.get(f"/track/{ticket['tracking_token']}")).text
    assert "/reply" not in page
    refused = await post_form(client, f"/track/{ticket['tracking_token']}/reply", {"body": "还在吗"})
    assert refused.status_code == 422
    assert await TicketActivity.count().where(TicketActivity.kind == "reply") == 0


async def test_a_resolved_ticket_offers_the_rating_and_a_low_score_reopens_it(client, make_user):
    ticket, _location = await _tracked(client)
    boss = await make_user("supervisor")
    agent = await make_user("customer_service")
    assert "/csat/" not in (await client.get(f"/track/{ticket['tracking_token']}")).text
    resolved = await services.update_ticket(agent, ticket["id"], {"status": "resolved"}, version=None)
    page = (await client.get(f"/track/{ticket['tracking_token']}")).text
    link = csat.rating_link(resolved)
    assert f'action="{link}"' in page
    response = await post_form(client, link, {"score": "1", "comment": "还是漏水", "token": ticket["tracking_token"]})
    assert response.status_code == 303 and response.headers["location"] == f"/track/{ticket['tracking_token']}?rated=1"
    stored = await Ticket.select(Ticket.status, Ticket.csat_score).first()
    assert stored == {"status": "in_progress", "csat_score": 1}
    assert [n["recipient"] for n in await Notification.select(Notification.recipient)] == [boss.id]
    # The spent link is now a polite 404, and the page offers no rating.
    assert (await client.get(link)).status_code == 404
    assert "/csat/" not in (await client.get(f"/track/{ticket['tracking_token']}")).text


async def test_the_rating_page_validates_and_thanks_without_revealing_the_tracking_link(client, make_user):
    ticket, _location = await _tracked(client)
    resolved = await services.update_ticket(
        await make_user("customer_service"), ticket["id"], {"status": "resolved"}, version=None
    )
    link = csat.rating_link(resolved)
    form = await client.get(link)
    assert form.status_code == 200 and 'name="score"' in form.text
    invalid = await post_form(client, link, {"score": "9"})
    assert invalid.status_code == 422 and 'id="f-score-error"' in invalid.text
    thanks = await post_form(client, link, {"score": "5", "comment": "很满意"}, headers=EN)
    assert thanks.status_code == 200 and "Thank you for your rating." in thanks.text
    assert ticket["tracking_token"] not in thanks.text
    assert (await Ticket.select(Ticket.csat_score, Ticket.status).first()) == {"csat_score": 5, "status": "resolved"}
    assert (await client.get(link[:-3] + "abc")).status_code == 404


async def test_a_logged_in_staff_member_sees_the_public_page_too(client, make_user):
    await login(client, await make_user("customer_service"))
    page = await client.get("/submit/repair")
    assert page.status_code == 200 and 'class="shell"' not in page.text
    assert (await _submit(client)).status_code == 303
    assert (await Ticket.select(Ticket.created_by).first())["created_by"] is None


async def test_an_htmx_submission_with_errors_swaps_only_the_main_region(client):
    await client.get("/submit/repair")
    response = await post_form(
        client, "/submit/repair", {**REPAIR_FORM, "title": ""}, headers={"HX-Request": "true", "HX-Target": "main"}
    )
    assert response.status_code == 422
    assert "<html" not in response.text and 'id="f-title-error"' in response.text
    ok = await post_form(client, "/submit/repair", REPAIR_FORM, headers={"HX-Request": "true", "HX-Target": "main"})
    ticket = await Ticket.select(Ticket.tracking_token).first()
    assert ok.headers["hx-redirect"] == f"/track/{ticket['tracking_token']}?received=1"


async def test_the_language_switch_on_a_public_page_returns_to_it(client):
    page = await client.get("/submit/repair")
    assert 'name="next" value="/submit/repair"' in page.text
    switched = await post_form(client, "/lang", {"locale": "en", "next": "/submit/repair"})
    assert switched.status_code in (302, 303) and switched.headers["location"] == "/submit/repair"
    assert "Send request" in (await client.get("/submit/repair")).text
