"""The API's typed contract: every body described in /schema/openapi.json, decoding errors in the documented
shape (field named, message translated), absent vs null in PATCH, and numbers out of range as 4xx."""

from __future__ import annotations

import pytest

from app.tickets.types.defaults import ensure_default_types
from tables.leads.tables import Lead
from tests.integration.test_api import EN, assert_error_shape, fields
from tests.support import token_for

REPAIR = {"type": "repair", "title": "302 教室投影仪不亮", "fields": {"location": "3 楼 302", "equipment": "投影仪"}}
PAST_64_BITS = 99999999999999999999
PAST_32_BITS = 3_000_000_000  # PostgreSQL's INTEGER ids end at 2**31 - 1


# --- the OpenAPI document -------------------------------------------------------------------


async def test_every_api_body_is_described_by_a_named_schema(client):
    document = (await client.get("/schema/openapi.json")).json()
    components = document["components"]["schemas"]
    lead_in = document["paths"]["/api/v1/leads"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert lead_in == {"$ref": "#/components/schemas/LeadIn"}
    assert {"student_name", "phone", "owner_id", "campus_id", "allow_duplicate"} <= set(
        components["LeadIn"]["properties"]
    )
    operations = [
        (path, method, op)
        for path, ops in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
    ]
    assert len(operations) >= 30
    for path, method, op in operations:
        json_body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if json_body is not None:
            assert "$ref" in json_body or any("$ref" in s for s in json_body.get("oneOf", [])), (method, path)
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if status.startswith(("4", "5")):
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            elif schema is not None:  # 204s and file downloads have no JSON body
                assert schema != {"type": "object"}, (method, path, status)
    assert components["ErrorBody"]["required"] == ["detail", "errors"]
    assert "429" in document["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "401" in document["paths"]["/api/v1/auth/token"]["post"]["responses"]


# --- decoding errors ------------------------------------------------------------------------


async def test_a_wrong_json_type_is_422_naming_the_field_in_the_callers_language(client, make_user):
    await ensure_default_types()
    headers = await token_for(await make_user("customer_service"))
    zh = assert_error_shape(await client.post("/api/v1/tickets", json={**REPAIR, "title": 42}, headers=headers), 422)
    assert zh["errors"] == [{"field": "title", "message": "必须是文本。"}]
    en = assert_error_shape(
        await client.post("/api/v1/tickets", json={**REPAIR, "title": 42}, headers={**headers, **EN}), 422
    )
    assert en["errors"] == [{"field": "title", "message": "Must be text."}]
    unknown = assert_error_shape(
        await client.post("/api/v1/tickets", json={**REPAIR, "colour": "red"}, headers={**headers, **EN}), 422
    )
    assert unknown["errors"] == [{"field": "colour", "message": "Unknown field."}]
    listed = assert_error_shape(
        await client.post("/api/v1/tickets", json={**REPAIR, "tags": [1]}, headers={**headers, **EN}), 422
    )
    assert fields(listed) == {"tags"}


async def test_a_missing_required_field_is_400_naming_it(client, make_user):
    headers = {**await token_for(await make_user("admin")), **EN}
    body = assert_error_shape(await client.post("/api/v1/announcements", json={"body": "x"}, headers=headers), 400)
    assert body["errors"] == [{"field": "title", "message": "This field is required."}]


async def test_an_id_out_of_range_in_a_body_is_422_naming_it(client, make_user):
    headers = {**await token_for(await make_user("admin")), **EN}
    body = {"student_name": "周小雨", "phone": "13800138000", "owner_id": PAST_32_BITS}
    answer = assert_error_shape(await client.post("/api/v1/leads", json=body, headers=headers), 422)
    assert answer["errors"] == [{"field": "owner_id", "message": "Number out of range."}]
    assert await Lead.count() == 0


async def test_a_nul_character_is_422_naming_the_field_on_both_databases(client, make_user):
    headers = {**await token_for(await make_user("admin")), **EN}
    query = assert_error_shape(await client.get("/api/v1/leads", params={"q": "a\x00b"}, headers=headers), 422)
    assert query["errors"] == [{"field": "q", "message": "Text may not contain the NUL character."}]
    body = {"student_name": "周\x00", "phone": "13800138000"}
    assert fields(assert_error_shape(await client.post("/api/v1/leads", json=body, headers=headers), 422)) == {
        "student_name"
    }
    assert await Lead.count() == 0


# --- numbers out of range -------------------------------------------------------------------


@pytest.mark.parametrize("number", [PAST_64_BITS, PAST_32_BITS])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/{}",
        "/api/v1/jobs/{}",
        "/api/v1/leads/{}/history",
        "/api/v1/students/{}",
        "/api/v1/tickets/{}/approval",
    ],
)
async def test_an_id_past_the_column_range_in_a_path_is_404(client, make_user, path, number):
    headers = await token_for(await make_user("admin"))
    assert_error_shape(await client.get(path.format(number), headers=headers), 404)


async def test_writes_to_an_id_past_the_range_are_404_too(client, make_user):
    headers = await token_for(await make_user("admin"))
    assert_error_shape(
        await client.patch(f"/api/v1/leads/{PAST_64_BITS}", json={"grade": "初二"}, headers=headers), 404
    )
    assert_error_shape(await client.delete(f"/api/v1/tickets/{PAST_64_BITS}", headers=headers), 404)


@pytest.mark.parametrize(("params", "field"), [({"offset": str(2**63)}, "offset"), ({"limit": str(2**64)}, "limit")])
async def test_paging_out_of_range_is_422_naming_it(client, make_user, params, field):
    headers = await token_for(await make_user("admin"))
    for url in ("/api/v1/leads", "/api/v1/tickets", "/api/v1/students", "/api/v1/notifications", "/api/v1/lead-pool"):
        assert fields(assert_error_shape(await client.get(url, params=params, headers=headers), 422)) == {field}, url


async def test_ticket_filters_with_ids_out_of_range_are_422(client, make_user):
    headers = await token_for(await make_user("admin"))
    for name in ("assignee", "campus"):
        answer = await client.get("/api/v1/tickets", params={name: str(PAST_64_BITS)}, headers=headers)
        assert fields(assert_error_shape(answer, 422)) == {name}
    assert fields(
        assert_error_shape(await client.get("/api/v1/tickets", params={"assignee": "²"}, headers=headers), 422)
    ) == {"assignee"}


# --- credentials ----------------------------------------------------------------------------


async def test_an_empty_password_is_still_422_naming_it(client, make_user):
    user = await make_user()
    body = assert_error_shape(
        await client.post("/api/v1/auth/token", json={"username": user.username, "password": ""}, headers=EN), 422
    )
    assert fields(body) == {"password"}


# --- PATCH: absent keeps, null clears -------------------------------------------------------


async def test_lead_patch_keeps_absent_fields_and_clears_null_ones(client, make_user):
    admin = await make_user("admin")
    headers = await token_for(admin)
    created = await client.post(
        "/api/v1/leads",
        json={"student_name": "周小雨", "phone": "13800138000", "owner_id": admin.id, "note": "先电话"},
        headers=headers,
    )
    lead = created.json()
    kept = (await client.patch(f"/api/v1/leads/{lead['id']}", json={"grade": "初二"}, headers=headers)).json()
    assert (kept["owner_id"], kept["note"], kept["grade"]) == (admin.id, "先电话", "初二")
    cleared = await client.patch(f"/api/v1/leads/{lead['id']}", json={"owner_id": None, "note": None}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["owner_id"], cleared.json()["note"], cleared.json()["grade"]) == (None, "", "初二")


async def test_ticket_patch_keeps_absent_fields_and_clears_null_ones(client, make_user):
    await ensure_default_types()
    agent = await make_user("customer_service")
    headers = await token_for(agent)
    ticket = (await client.post("/api/v1/tickets", json={**REPAIR, "assignee_id": agent.id}, headers=headers)).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    kept = await client.patch(url, json={"priority": "high"}, headers=headers)
    assert kept.status_code == 200, kept.text
    assert (kept.json()["assignee_id"], kept.json()["priority"]) == (agent.id, "high")
    cleared = await client.patch(url, json={"assignee_id": None}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["assignee_id"], cleared.json()["priority"]) == (None, "high")
