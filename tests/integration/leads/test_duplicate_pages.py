"""The HTML side of duplicates: the form's confirm step, the duplicates page, the merge wizard and undo."""

from __future__ import annotations

from app.leads import services
from tables.leads.tables import Lead, LeadMerge
from tests.support import login, post_form

ZHANG = {"student_name": "张伟", "phone": "13800138000", "district": "海淀区", "source": "douyin"}


async def test_the_form_asks_before_saving_a_duplicate_and_saves_when_confirmed(client, make_user):
    admin = await make_user("admin")
    await login(client, admin)
    first = await services.create_lead(admin, ZHANG)
    asked = await post_form(client, "/leads", {"student_name": "张 伟", "phone": "+86 138-0013-8000"})
    assert asked.status_code == 409
    assert f'href="/leads/{first["id"]}"' in asked.text and "手机号相同" in asked.text
    assert 'name="allow_duplicate" value="1"' in asked.text and "仍然保存" in asked.text
    assert await Lead.count() == 1
    saved = await post_form(
        client, "/leads", {"student_name": "张 伟", "phone": "+86 138-0013-8000", "allow_duplicate": "1"}
    )
    assert saved.status_code in (302, 303) and await Lead.count() == 2


async def test_a_lead_the_user_cannot_see_is_shown_without_its_name(client, make_user):
    owner, other = await make_user("advisor"), await make_user("advisor")
    hidden = await services.create_lead(owner, ZHANG)
    await login(client, other)
    asked = await post_form(client, "/leads", {"student_name": "李四", "phone": "13800138000"})
    assert asked.status_code == 409
    assert "张伟" not in asked.text and f"#{hidden['id']}" in asked.text


async def test_duplicates_page_merge_wizard_and_undo(client, make_user):
    admin = await make_user("admin")
    await login(client, admin)
    a = await services.create_lead(admin, ZHANG)
    b = await services.create_lead(
        admin, {**ZHANG, "student_name": "Zhang Wei", "grade": "初一", "phone": "+86 138 0013 8000"}
    )
    await services.create_lead(admin, {"student_name": "王芳", "phone": "13900139000"})
    listing = await client.get("/leads/duplicates")
    assert listing.status_code == 200
    assert f'href="/leads/merge?a={a["id"]}&b={b["id"]}"' in listing.text and "王芳" not in listing.text
    wizard = await client.get(f"/leads/merge?a={a['id']}&b={b['id']}")
    assert wizard.status_code == 200 and 'name="pick_grade"' in wizard.text
    merged = await post_form(
        client, "/leads/merge", {"a": a["id"], "b": b["id"], "survivor": a["id"], "pick_grade": b["id"]}
    )
    assert merged.status_code in (302, 303) and merged.headers["location"] == f"/leads/{a['id']}"
    survivor = await Lead.select(Lead.grade).where(Lead.id == a["id"]).first()
    assert survivor["grade"] == "初一"
    assert (await client.get("/leads/duplicates")).text.count("/leads/merge?") == 0
    detail = await client.get(f"/leads/{a['id']}")
    merge_id = (await LeadMerge.select(LeadMerge.id).first())["id"]
    assert f"/leads/merges/{merge_id}/undo" in detail.text
    undone = await post_form(client, f"/leads/merges/{merge_id}/undo", {})
    assert undone.status_code in (302, 303)
    assert await Lead.count().where(Lead.deleted_at.is_null()) == 3


async def test_an_advisor_cannot_merge_leads_of_others(client, make_user):
    admin, advisor = await make_user("admin"), await make_user("advisor")
    a = await services.create_lead(admin, ZHANG)
    b = await services.create_lead(admin, {**ZHANG, "phone": "+86 13800138000"})
    await login(client, advisor)
    refused = await post_form(client, "/leads/merge", {"a": a["id"], "b": b["id"], "survivor": a["id"]})
    assert refused.status_code == 403
    assert await Lead.count().where(Lead.deleted_at.is_null()) == 2
