"""The ticket REST API as outside clients see it: paths, fields, ETags, errors naming the field."""

from __future__ import annotations

import pytest

from tables.tickets.tables import Ticket, TicketActivity
from tests.support import make_campus, token_for

EN = {"Accept-Language": "en"}
REPAIR = {"type": "repair", "title": "302 教室投影仪不亮", "fields": {"location": "3 楼 302", "equipment": "投影仪"}}


def errors_of(response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["detail"]
    return {e["field"]: e["message"] for e in body["errors"]}


async def _create(client, headers, **values) -> dict:
    response = await client.post("/api/v1/tickets", json={**REPAIR, **values}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_ticket_types_list_codes_names_and_active_fields(client, make_user):
    headers = await token_for(await make_user("customer_service"))
    response = await client.get("/api/v1/ticket-types", headers=headers)
    assert response.status_code == 200
    types = {t["code"]: t for t in response.json()["items"]}
    assert set(types) == {"consultation", "leave_reschedule", "complaint", "refund", "tech_support", "repair"}
    assert types["repair"]["name"] == "设备报修"
    location = types["repair"]["fields"][0]
    assert location == {
        "key": "location",
        "label": "位置",
        "type": "text",
        "required": True,
        "help": "例如 3 楼 302 教室",
        "options": [],
    }
    assert "投影仪" in types["repair"]["fields"][1]["options"]


async def test_create_answers_201_with_the_contract_fields(client, make_user):
    agent = await make_user("customer_service")
    response = await client.post(
        "/api/v1/tickets",
        json={
            **REPAIR,
            "priority": "high",
            "tags": ["设备", "三楼"],
            "assignee_id": agent.id,
            "requester_phone": "138 0013 8000",
        },
        headers=await token_for(agent),
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["number"].startswith("T-") and ticket["id"] == (await Ticket.select(Ticket.id).first())["id"]
    assert (ticket["status"], ticket["priority"], ticket["assignee_id"]) == ("assigned", "high", agent.id)
    assert (ticket["type"], ticket["channel"], ticket["version"]) == ("repair", "api", 1)
    assert ticket["fields"] == REPAIR["fields"] and ticket["tags"] == ["三楼", "设备"]
    assert ticket["title"] == REPAIR["title"] and ticket["created_at"]
    assert ticket["requester_phone"] == "13800138000"
    assert ticket["tracking_url"].startswith("/track/")
    assert not {"assignee", "type_fields", "tracking_token", "deleted_at"} & set(ticket)
    assert response.headers["etag"] == 'W/"1"'


async def test_create_names_the_failing_fields_and_stores_nothing(client, make_user):
    headers = {**await token_for(await make_user("customer_service")), **EN}
    response = await client.post(
        "/api/v1/tickets",
        json={
            "type": "repair",
            "title": "",
            "priority": "sometime",
            "fields": {"equipment": "火箭", "colour": "red"},
            "student_id": 424242,
            "assignee_id": 424242,
        },
        headers=headers,
    )
    errors = errors_of(response, 422)
    assert set(errors) == {
        "title",
        "priority",
        "fields.location",
        "fields.equipment",
        "fields.colour",
        "student_id",
        "assignee_id",
    }
    assert errors["fields.location"] == "This field is required."
    unknown = await client.post("/api/v1/tickets", json={**REPAIR, "type": "nope"}, headers=headers)
    assert set(errors_of(unknown, 422)) == {"type"}
    assert await Ticket.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**REPAIR, "title": 42}, "title"),
        ({**REPAIR, "student_id": "7"}, "student_id"),
        ({**REPAIR, "fields": ["x"]}, "fields"),
        ({**REPAIR, "assignee": 3}, "assignee"),
        ({**REPAIR, "requester_phone": "12"}, "requester_phone"),
        ({**REPAIR, "channel": "fax"}, "channel"),
    ],
)
async def test_create_rejects_wrong_json_types_and_unknown_keys_by_name(client, make_user, body, field):
    headers = await token_for(await make_user("customer_service"))
    assert set(errors_of(await client.post("/api/v1/tickets", json=body, headers=headers), 422)) == {field}
    assert await Ticket.count() == 0


async def test_get_sends_an_etag_and_patch_honours_if_match(client, make_user):
    agent = await make_user("customer_service")
    headers = await token_for(agent)
    ticket = await _create(client, headers)
    read = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)
    assert read.status_code == 200 and read.headers["etag"] == 'W/"1"'
    assert read.json()["number"] == ticket["number"]

    changed = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "urgent", "assignee_id": agent.id},
        headers={**headers, "If-Match": read.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == 'W/"2"'
    assert (changed.json()["priority"], changed.json()["status"], changed.json()["assignee_id"]) == (
        "urgent",
        "assigned",
        agent.id,
    )

    stale = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"priority": "low"}, headers={**headers, "If-Match": 'W/"1"', **EN}
    )
    assert "version" in errors_of(stale, 409)
    assert "changed by someone else" in stale.json()["detail"]
    stale_field = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"priority": "low", "version": 1}, headers=headers
    )
    assert stale_field.status_code == 409
    assert (await Ticket.select(Ticket.priority, Ticket.version).first()) == {"priority": "urgent", "version": 2}

    by_field = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"title": "投影仪已换灯泡", "version": 2}, headers=headers
    )
    assert by_field.status_code == 200 and by_field.json()["version"] == 3


async def test_patch_errors_name_status_custom_fields_and_foreign_keys(client, make_user):
    headers = {**await token_for(await make_user("customer_service")), **EN}
    ticket = await _create(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    assert set(errors_of(await client.patch(url, json={"status": "done"}, headers=headers), 422)) == {"status"}
    closed = await client.patch(url, json={"status": "closed"}, headers=headers)
    assert closed.status_code == 200
    illegal = errors_of(await client.patch(url, json={"status": "pending"}, headers=headers), 422)
    assert set(illegal) == {"status"} and "cannot move" in illegal["status"]
    bad = await client.patch(
        url, json={"fields": {"equipment": "火箭"}, "student_id": 99999, "assignee_id": 99999}, headers=headers
    )
    assert set(errors_of(bad, 422)) == {"fields.equipment", "student_id", "assignee_id"}
    assert set(errors_of(await client.patch(url, json={"number": "T-1"}, headers=headers), 422)) == {"number"}
    assert set(
        errors_of(await client.patch(url, json={"priority": "low"}, headers={**headers, "If-Match": "x"}), 422)
    ) == {"If-Match"}
    assert (await Ticket.select(Ticket.status, Ticket.version).first()) == {"status": "closed", "version": 2}


async def test_list_filters_by_status_and_type_and_paginates(client, make_user):
    agent = await make_user("customer_service")
    headers = await token_for(agent)
    created = [await _create(client, headers, title=f"报修{n}") for n in range(4)]
    await _create(client, headers, type="complaint", title="老师迟到", fields={"category": "教学质量"})
    await client.patch(f"/api/v1/tickets/{created[0]['id']}", json={"status": "in_progress"}, headers=headers)
    await client.patch(f"/api/v1/tickets/{created[1]['id']}", json={"status": "pending"}, headers=headers)

    async def titles(**params) -> list[str]:
        response = await client.get("/api/v1/tickets", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["items"]]

    assert await titles(type="complaint") == ["老师迟到"]
    assert await titles(status="in_progress") == ["报修0"]
    assert await titles(status=["in_progress", "pending"]) == ["报修1", "报修0"]
    assert await titles(status="pending,in_progress", type="repair") == ["报修1", "报修0"]
    assert await titles(status="new", type="repair", q="报修3") == ["报修3"]
    page = (await client.get("/api/v1/tickets", params={"limit": 2, "offset": 1}, headers=headers)).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [t["title"] for t in page["items"]] == ["报修3", "报修2"]
    item = page["items"][0]
    assert {"id", "number", "status", "priority", "assignee_id", "type", "version"} <= set(item)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "open"}, "status"),
        ({"status": "new,bogus"}, "status"),
        ({"type": "nope"}, "type"),
        ({"priority": "asap"}, "priority"),
        ({"limit": "0"}, "limit"),
        ({"assignee": "bob"}, "assignee"),
    ],
)
async def test_list_rejects_unknown_filter_values_by_name(client, make_user, params, field):
    headers = await token_for(await make_user("customer_service"))
    assert set(errors_of(await client.get("/api/v1/tickets", params=params, headers=headers), 422)) == {field}


async def test_without_a_token_every_endpoint_is_401(client, make_user):
    ticket = await _create(client, await token_for(await make_user("customer_service")))
    for method, url in [
        ("GET", "/api/v1/ticket-types"),
        ("GET", "/api/v1/tickets"),
        ("POST", "/api/v1/tickets"),
        ("GET", f"/api/v1/tickets/{ticket['id']}"),
        ("PATCH", f"/api/v1/tickets/{ticket['id']}"),
        ("GET", f"/api/v1/tickets/{ticket['id']}/timeline"),
    ]:
        response = await client.request(method, url, json={} if method != "GET" else None)
        assert response.status_code == 401, (method, url)
    assert await Ticket.count() == 1


async def test_a_ticket_the_caller_cannot_see_is_404_like_a_missing_one(client, make_user):
    north, south = await make_campus("北区"), await make_campus("南区")
    north_agent = await make_user("customer_service", campus=north)
    south_headers = await token_for(await make_user("customer_service", campus=south))
    ticket = await _create(client, await token_for(north_agent), campus_id=north)
    for method, suffix, payload in [
        ("GET", "", None),
        ("PATCH", "", {"priority": "low"}),
        ("GET", "/timeline", None),
        ("POST", "/messages", {"body": "hi"}),
    ]:
        response = await client.request(
            method, f"/api/v1/tickets/{ticket['id']}{suffix}", json=payload, headers=south_headers
        )
        assert response.status_code == 404, (method, suffix)
    missing = await client.get("/api/v1/tickets/999999", headers=south_headers)
    assert missing.json() == (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=south_headers)).json()
    listed = (await client.get("/api/v1/tickets", headers=south_headers)).json()
    assert listed["total"] == 0
    assert await TicketActivity.count().where(TicketActivity.kind.is_in(["reply", "note"])) == 0


async def test_messages_and_the_timeline(client, make_user):
    agent = await make_user("customer_service")
    headers = await token_for(agent)
    ticket = await _create(client, headers)
    reply = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "师傅下午到", "public": True}, headers=headers
    )
    assert reply.status_code == 201, reply.text
    assert (reply.json()["kind"], reply.json()["public"], reply.json()["actor_id"]) == ("reply", True, agent.id)
    assert reply.headers["etag"] == 'W/"2"'
    note = await client.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "备件在仓库"}, headers=headers)
    assert (note.json()["kind"], note.json()["public"]) == ("note", False)
    empty = await client.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "  "}, headers=headers)
    assert set(errors_of(empty, 422)) == {"body"}
    timeline = (await client.get(f"/api/v1/tickets/{ticket['id']}/timeline", headers=headers)).json()["items"]
    assert [(a["kind"], a["body"]) for a in timeline] == [
        ("created", ""),
        ("reply", "师傅下午到"),
        ("note", "备件在仓库"),
    ]
