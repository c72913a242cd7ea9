"""Duplicate checks over the API: 409 with `duplicates`, confirming, the duplicates endpoint, edits."""

from __future__ import annotations

from tables.leads.tables import Lead, LeadMatchKey
from tests.support import token_for

EN = {"Accept-Language": "en"}
ZHANG = {"student_name": "张伟", "phone": "138 0013 8000", "district": "海淀区", "source": "douyin"}


async def _post(client, headers, body):
    return await client.post("/api/v1/leads", json=body, headers={**headers, **EN})


async def test_an_exact_phone_match_answers_409_until_confirmed(client, make_user):
    headers = await token_for(await make_user("admin"))
    first = (await _post(client, headers, ZHANG)).json()
    assert first["duplicates"] == []
    again = {"student_name": "张 伟", "phone": "+86-13800138000"}
    response = await _post(client, headers, again)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith("A lead with the same phone")
    assert body["errors"] == []  # the usual error shape, extended
    assert body["duplicates"] == [
        {"id": first["id"], "score": 100, "reasons": ["same phone", "name 100%"], "blocking": True}
    ]
    assert await Lead.count() == 1
    confirmed = await _post(client, headers, {**again, "allow_duplicate": True})
    assert confirmed.status_code == 201
    assert [d["id"] for d in confirmed.json()["duplicates"]] == [first["id"]]
    listed = (await client.get(f"/api/v1/leads/{first['id']}/duplicates", headers={**headers, **EN})).json()
    assert listed == {
        "duplicates": [
            {"id": confirmed.json()["id"], "score": 100, "reasons": ["same phone", "name 100%"], "blocking": True}
        ]
    }


async def test_fuzzy_matches_warn_but_create(client, make_user):
    headers = await token_for(await make_user("admin"))
    first = (await _post(client, headers, ZHANG)).json()
    response = await _post(client, headers, {"student_name": "Wei Zhang", "wechat": "zw2026", "district": "海淀区"})
    assert response.status_code == 201
    assert response.json()["duplicates"] == [
        {"id": first["id"], "score": 90, "blocking": False, "reasons": ["name 100%", "same district"]}
    ]


async def test_reasons_follow_the_language(client, make_user):
    headers = await token_for(await make_user("admin"))
    await _post(client, headers, ZHANG)
    response = await client.post("/api/v1/leads", json={**ZHANG, "student_name": "張偉"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["duplicates"][0]["reasons"] == ["手机号相同", "姓名相似度 100%", "同一区县"]


async def test_an_edit_that_adds_someones_wechat_is_blocked_but_an_accepted_duplicate_is_not(client, make_user):
    headers = await token_for(await make_user("admin"))
    a = (await _post(client, headers, {**ZHANG, "wechat": "ZW_1"})).json()
    b = (await _post(client, headers, {"student_name": "李娜", "phone": "13900139000"})).json()
    blocked = await client.patch(f"/api/v1/leads/{b['id']}", json={"wechat": "zw_1 "}, headers={**headers, **EN})
    assert blocked.status_code == 409
    assert [d["id"] for d in blocked.json()["duplicates"]] == [a["id"]]
    assert (await Lead.select(Lead.wechat).where(Lead.id == b["id"]).first())["wechat"] == ""
    ok = await client.patch(
        f"/api/v1/leads/{b['id']}", json={"wechat": "zw_1", "allow_duplicate": True}, headers=headers
    )
    assert ok.status_code == 200 and ok.json()["duplicates"][0]["id"] == a["id"]
    # The accepted duplicate does not block the next edit of another field.
    later = await client.patch(f"/api/v1/leads/{b['id']}", json={"student_name": "李娜娜"}, headers=headers)
    assert later.status_code == 200
    assert await LeadMatchKey.exists().where((LeadMatchKey.lead == b["id"]) & (LeadMatchKey.key == "wechat:zw_1"))


async def test_new_fields_validate_and_round_trip(client, make_user):
    headers = await token_for(await make_user("admin"))
    bad = await _post(client, headers, {**ZHANG, "phones": ["abc"], "course_interests": "x" * 30, "status": "invalid"})
    assert {e["field"] for e in bad.json()["errors"]} == {"phones", "course_interests", "invalid_reason"}
    lead = (
        await _post(
            client,
            headers,
            {
                **ZHANG,
                "phones": ["139-0013-9000", "13800138000"],
                "course_interests": ["编程", "数学", "编程"],
                "source_campaign": "暑期地推",
            },
        )
    ).json()
    assert lead["phones"] == ["13900139000"]  # normalised, the primary one dropped
    assert lead["course_interests"] == ["编程", "数学"]
    assert lead["source_campaign"] == "暑期地推"
    dup = await _post(client, headers, {"student_name": "王芳", "phone": "13900139000"})
    assert dup.status_code == 409  # an extra phone is a key too


async def test_deleting_a_lead_removes_it_from_duplicate_checks(client, make_user):
    headers = await token_for(await make_user("admin"))
    first = (await _post(client, headers, ZHANG)).json()
    await client.delete(f"/api/v1/leads/{first['id']}", headers=headers)
    assert (await _post(client, headers, ZHANG)).status_code == 201
