"""The REST API: bearer tokens only, JSON errors of one shape, leads CRUD with versions and history."""

from __future__ import annotations

import pytest

from app.accounts import sessions
from app.accounts.services import revoke_api_token
from tables.accounts.tables import ApiToken
from tables.leads.tables import Lead
from tests.support import PASSWORD, login, token_for

EN = {"Accept-Language": "en"}


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for item in body["errors"]:
        assert set(item) == {"field", "message"} and item["field"] and item["message"]
    return body


def fields(body: dict) -> set[str]:
    return {e["field"] for e in body["errors"]}


# --- tokens and authentication --------------------------------------------------------------


async def test_token_for_good_credentials_opens_the_api(client, make_user):
    user = await make_user(display_name="赵老师")
    response = await client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token"} and token.startswith("sy_")
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": user.id,
        "username": user.username,
        "display_name": "赵老师",
        "role": "advisor",
        "team_id": None,
        "campus_id": None,
    }


async def test_token_for_a_wrong_password_is_401_naming_the_password(client, make_user):
    user = await make_user()
    response = await client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": "nope-123"}, headers=EN
    )
    body = assert_error_shape(response, 401)
    assert body["detail"] == "Wrong username or password."
    assert body["errors"] == [{"field": "password", "message": "Wrong username or password."}]


async def test_errors_are_translated_by_default(client, make_user):
    user = await make_user()
    response = await client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-123"})
    assert assert_error_shape(response, 401)["detail"] == "用户名或密码错误。"


async def test_token_request_missing_a_field_is_400_naming_it(client):
    response = await client.post("/api/v1/auth/token", json={"username": "someone"})
    body = assert_error_shape(response, 400)
    assert fields(body) == {"password"}


async def test_malformed_json_is_400_saying_so(client):
    response = await client.post(
        "/api/v1/auth/token", content=b'{"username": "x", ', headers={"Content-Type": "application/json", **EN}
    )
    body = assert_error_shape(response, 400)
    assert "JSON" in body["detail"]
    assert fields(body) == {"body"}


async def test_api_login_is_throttled_too(client, make_user):
    user = await make_user()
    for _ in range(5):
        await client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-123"})
    response = await client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert_error_shape(response, 429)


@pytest.mark.parametrize("header", [None, "Bearer sy_not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "sy_abc"])
async def test_me_without_a_valid_token_is_401_json(client, header):
    response = await client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    body = assert_error_shape(response, 401)
    assert "location" not in response.headers  # the API never redirects to the login page
    assert body["errors"] == []


async def test_session_cookie_alone_is_not_accepted_by_the_api(client, make_user):
    user = await make_user()
    assert (await login(client, user)).status_code == 302
    assert client.cookies.get(sessions.SESSION_COOKIE)
    assert (await client.get("/")).status_code == 200  # the cookie does work for pages
    assert_error_shape(await client.get("/api/v1/me"), 401)
    assert_error_shape(await client.post("/api/v1/leads", json={"student_name": "x", "phone": "13800138000"}), 401)
    assert await Lead.count() == 0


async def test_a_revoked_token_stops_working(client, make_user):
    user = await make_user()
    headers = await token_for(user)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    await revoke_api_token(user, token_id)
    assert_error_shape(await client.get("/api/v1/me", headers=headers), 401)


# --- leads ----------------------------------------------------------------------------------


async def _new_lead(client, headers, **values) -> dict:
    body = {"student_name": "周小雨", "phone": "+86 138-0013-8000", **values}
    response = await client.post("/api/v1/leads", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_lead_normalises_the_phone_and_names_foreign_keys_with_id(client, make_user):
    advisor = await make_user()
    headers = await token_for(advisor)
    lead = await _new_lead(client, headers, guardian_name="周先生")
    assert lead["phone"] == "13800138000"
    assert lead["owner_id"] == advisor.id and lead["campus_id"] is None
    assert "owner" not in lead and "deleted_at" not in lead
    assert (lead["status"], lead["version"]) == ("new", 1)
    stored = await Lead.select(Lead.phone, Lead.owner).where(Lead.id == lead["id"]).first()
    assert stored == {"phone": "13800138000", "owner": advisor.id}


async def test_create_lead_validation_names_api_fields(client, make_user):
    admin = await make_user("admin")
    headers = {**await token_for(admin), **EN}
    response = await client.post(
        "/api/v1/leads",
        json={"student_name": "", "phone": "xyz", "owner_id": 424242, "campus_id": 424242},
        headers=headers,
    )
    body = assert_error_shape(response, 422)
    assert fields(body) == {"student_name", "phone", "owner_id", "campus_id"}
    assert await Lead.count() == 0


async def test_create_lead_rejects_a_body_that_is_not_an_object(client, make_user):
    headers = await token_for(await make_user("admin"))
    body = assert_error_shape(await client.post("/api/v1/leads", json=["student_name"], headers=headers), 400)
    assert fields(body) == {"body"}
    assert await Lead.count() == 0


async def test_list_leads_paginates(client, make_user):
    admin = await make_user("admin")
    headers = await token_for(admin)
    for n in range(5):
        await _new_lead(client, headers, student_name=f"学员{n}", phone=f"1380013800{n}")
    page = (await client.get("/api/v1/leads", params={"limit": 2, "offset": 2}, headers=headers)).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [i["student_name"] for i in page["items"]] == ["学员2", "学员1"]
    assert all("owner_id" in i and "owner" not in i for i in page["items"])
    everything = (await client.get("/api/v1/leads", headers=headers)).json()
    assert (everything["total"], everything["limit"], len(everything["items"])) == (5, 20, 5)
    found = (await client.get("/api/v1/leads", params={"q": "学员3"}, headers=headers)).json()
    assert [i["student_name"] for i in found["items"]] == ["学员3"] and found["total"] == 1


async def test_list_leads_scope_narrows_to_mine_or_the_pool(client, make_user):
    advisor, admin = await make_user(), await make_user("admin")
    mine = await _new_lead(client, await token_for(advisor), student_name="我的")
    pooled = await _new_lead(client, await token_for(admin), student_name="公海", phone="13900139000")
    headers = await token_for(advisor)

    async def names(**params):
        return [
            i["student_name"]
            for i in (await client.get("/api/v1/leads", params=params, headers=headers)).json()["items"]
        ]

    assert (mine["owner_id"], pooled["owner_id"]) == (advisor.id, None)
    assert await names() == ["公海", "我的"]
    assert await names(scope="mine") == ["我的"]
    assert await names(scope="pool") == ["公海"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"offset": "-3"}, "offset"),
    ],
)
async def test_list_leads_rejects_bad_paging(client, make_user, params, field):
    headers = await token_for(await make_user("admin"))
    body = assert_error_shape(await client.get("/api/v1/leads", params=params, headers=headers), 422)
    assert fields(body) == {field}


async def test_another_advisors_lead_is_404_everywhere(client, make_user):
    owner, other = await make_user(), await make_user()
    lead = await _new_lead(client, await token_for(owner))
    headers = await token_for(other)
    for method, suffix, payload in [
        ("GET", "", None),
        ("PATCH", "", {"status": "won"}),
        ("DELETE", "", None),
        ("GET", "/history", None),
    ]:
        response = await client.request(method, f"/api/v1/leads/{lead['id']}{suffix}", json=payload, headers=headers)
        assert_error_shape(response, 404)
    # Not existing and not visible look the same.
    missing = await client.get("/api/v1/leads/999999", headers=headers)
    assert missing.json() == (await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)).json()
    row = await Lead.select(Lead.status, Lead.deleted_at).where(Lead.id == lead["id"]).first()
    assert row == {"status": "new", "deleted_at": None}


async def test_patch_with_the_current_version_updates(client, make_user):
    advisor = await make_user()
    headers = await token_for(advisor)
    lead = await _new_lead(client, headers)
    response = await client.patch(
        f"/api/v1/leads/{lead['id']}", json={"status": "contacted", "version": 1}, headers=headers
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("contacted", 2)


async def test_patch_with_a_stale_version_is_409_and_changes_nothing(client, make_user):
    advisor = await make_user()
    headers = await token_for(advisor)
    lead = await _new_lead(client, headers)
    first = await client.patch(f"/api/v1/leads/{lead['id']}", json={"grade": "初一", "version": 1}, headers=headers)
    assert first.status_code == 200
    response = await client.patch(
        f"/api/v1/leads/{lead['id']}", json={"grade": "初二", "status": "won", "version": 1}, headers=headers
    )
    assert_error_shape(response, 409)
    current = (await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)).json()
    assert (current["grade"], current["status"], current["version"]) == ("初一", "new", 2)


# Litestar decodes bodies leniently: a string of digits ("1") is read as the number.
@pytest.mark.parametrize("version", ["one", True, 1.5])
async def test_patch_rejects_a_version_that_is_not_an_integer(client, make_user, version):
    headers = await token_for(await make_user())
    lead = await _new_lead(client, headers)
    body = assert_error_shape(
        await client.patch(f"/api/v1/leads/{lead['id']}", json={"grade": "初二", "version": version}, headers=headers),
        422,
    )
    assert fields(body) == {"version"}


async def test_patch_names_owner_id_when_the_owner_is_refused(client, make_user):
    advisor, colleague = await make_user(), await make_user()
    headers = await token_for(advisor)
    lead = await _new_lead(client, headers)
    response = await client.patch(f"/api/v1/leads/{lead['id']}", json={"owner_id": colleague.id}, headers=headers)
    assert fields(assert_error_shape(response, 422)) == {"owner_id"}


async def test_delete_then_get_is_404(client, make_user):
    headers = await token_for(await make_user())
    lead = await _new_lead(client, headers)
    response = await client.delete(f"/api/v1/leads/{lead['id']}", headers=headers)
    assert response.status_code == 204 and response.content == b""
    assert_error_shape(await client.get(f"/api/v1/leads/{lead['id']}", headers=headers), 404)
    assert (await client.get("/api/v1/leads", headers=headers)).json()["total"] == 0


async def test_history_lists_changes_newest_first(client, make_user):
    advisor = await make_user(display_name="钱顾问")
    headers = await token_for(advisor)
    lead = await _new_lead(client, headers)
    await client.patch(f"/api/v1/leads/{lead['id']}", json={"status": "visited"}, headers=headers)
    response = await client.get(f"/api/v1/leads/{lead['id']}/history", headers=headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["action"] for i in items] == ["update", "create"]
    assert items[0]["changes"] == {"status": ["new", "visited"]}
    assert items[1]["changes"]["phone"] == [None, "13800138000"]
    assert items[0]["actor_name"] == "钱顾问"


async def test_a_role_without_leads_gets_403(client, make_user):
    headers = await token_for(await make_user("teacher"))
    assert_error_shape(await client.get("/api/v1/leads", headers=headers), 403)
    assert_error_shape(
        await client.post("/api/v1/leads", json={"student_name": "x", "phone": "13800138000"}, headers=headers), 403
    )
    assert await Lead.count() == 0


async def test_announcements_need_an_announcer_role(client, make_user):
    headers = await token_for(await make_user())
    assert_error_shape(await client.post("/api/v1/announcements", json={"title": "放假通知"}, headers=headers), 403)


async def test_litestar_generic_errors_are_translated_too(client, make_user):
    headers = await token_for(await make_user())
    body = assert_error_shape(await client.put("/api/v1/leads/1", json={}, headers=headers), 405)
    assert body["detail"] == "不支持的请求方法"  # not Litestar's English "Method Not Allowed"


async def test_domain_errors_follow_accept_language(client, make_user):
    headers = await token_for(await make_user())
    zh = assert_error_shape(await client.get("/api/v1/leads/999999", headers=headers), 404)
    en = assert_error_shape(await client.get("/api/v1/leads/999999", headers={**headers, **EN}), 404)
    assert en["detail"] == "This lead does not exist or you cannot see it."
    assert zh["detail"] != en["detail"]


# --- schema ---------------------------------------------------------------------------------


async def test_openapi_schema_lists_the_api_but_not_the_pages(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/leads", "/api/v1/leads/{lead_id}", "/api/v1/me"):
        assert path in paths, path
    assert "post" in paths["/api/v1/auth/token"]
    listing = {p["name"] for p in paths["/api/v1/leads"]["get"]["parameters"]}
    assert {"q", "status", "scope", "limit", "offset"} <= listing
    assert not any(p.startswith(("/leads", "/login", "/account")) for p in paths)
