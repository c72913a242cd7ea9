"""Pages: the pool with htmx claims, the lead page's timeline and follow-up form, /admin/lead-pool."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.leads.pool import settings as pool_settings
from tables.audit.tables import AuditEntry
from tables.follow_ups.tables import LeadDistributionRule, LeadPoolSetting
from tables.leads.tables import Lead
from tests.integration.leads_pool.helpers import make_lead, owner_of
from tests.support import post_form

HTMX = {"HX-Request": "true"}


async def test_pool_page_lists_and_claims_a_lead_in_place(client, make_user, login):
    advisor = await make_user("advisor")
    await login(client, advisor)
    lead = await make_lead(None, student_name="张三丰", phone="13912345678", city="北京", district="海淀")
    await make_lead(advisor.id, student_name="私有的张某")
    page = await client.get("/leads/pool")
    assert page.status_code == 200
    assert "张三丰" in page.text and "139****5678" in page.text and "13912345678" not in page.text
    assert "私有的张某" not in page.text and "1 / 200" in page.text
    assert 'href="/leads/pool"' in page.text  # the nav link
    answer = await post_form(client, f"/leads/{lead}/claim", {"view": "row"}, headers=HTMX)
    assert answer.status_code == 200
    assert f'id="pool-lead-{lead}"' in answer.text and "pool-claimed" in answer.text
    assert await owner_of(lead) == advisor.id
    filtered = await client.get("/leads/pool", params={"city": "上海"}, headers={**HTMX, "HX-Target": "pool-results"})
    assert "张三丰" not in filtered.text and "<html" not in filtered.text


async def test_claim_refused_in_the_row_with_the_reason(client, make_user, login):
    winner, loser = await make_user("advisor"), await make_user("advisor")
    lead = await make_lead(None)
    await login(client, loser)
    await Lead.update({Lead.owner: winner.id}).where(Lead.id == lead)  # someone was first
    answer = await post_form(client, f"/leads/{lead}/claim", {"view": "row"}, headers=HTMX)
    assert answer.status_code == 404  # it is no longer visible to the loser at all
    free = await make_lead(None)
    await post_form(client, f"/leads/{free}/claim", {"view": "row"}, headers=HTMX)
    again = await post_form(client, f"/leads/{free}/claim", {"view": "row"}, headers=HTMX)
    assert again.status_code == 409 and "field-error" in again.text


async def test_lead_page_loads_the_timeline_and_adds_a_follow_up(client, make_user, login):
    advisor = await make_user("advisor", display_name="顾问小周")
    await login(client, advisor)
    lead = await make_lead(None, student_name="李四")
    await post_form(client, f"/leads/{lead}/claim", {"view": "panel"}, headers=HTMX)
    detail = await client.get(f"/leads/{lead}")
    assert detail.status_code == 200 and f'hx-get="/leads/{lead}/timeline"' in detail.text
    panel = await client.get(f"/leads/{lead}/timeline", headers=HTMX)
    assert panel.status_code == 200 and "<html" not in panel.text
    assert 'name="kind"' in panel.text and "释放" in panel.text and "顾问小周" in panel.text

    bad = await post_form(
        client, f"/leads/{lead}/follow-ups", {"kind": "telepathy", "next_follow_up_at": "明天"}, headers=HTMX
    )
    assert bad.status_code == 422
    assert 'id="fu-kind-error"' in bad.text and 'id="f-next_follow_up_at-error"' in bad.text

    day = (datetime.now() + timedelta(days=20)).date().isoformat()
    good = await post_form(
        client,
        f"/leads/{lead}/follow-ups",
        {
            "kind": "visit",
            "outcome": "trial_booked",
            "note": "家长带孩子来校区参观",
            "next_step": "周六试听数学",
            "next_follow_up_at": f"{day}T10:30",
        },
        headers=HTMX,
    )
    assert good.status_code == 200, good.text
    text = good.text
    assert "家长带孩子来校区参观" in text and "周六试听数学" in text and f"{day} 10:30" in text
    # Newest first: the follow-up, then the claim.
    assert text.index("家长带孩子来校区参观") < text.index("领取")
    row = await Lead.select(Lead.next_follow_up_on).where(Lead.id == lead).first()
    assert row["next_follow_up_on"].isoformat() == day
    assert await AuditEntry.count().where((AuditEntry.entity_id == lead) & (AuditEntry.action == "follow_up")) == 1


async def test_release_from_the_lead_page_and_advisors_cannot_release_others(client, make_user, login):
    owner, other = await make_user("advisor"), await make_user("advisor")
    lead = await make_lead(owner.id)
    await login(client, other)
    refused = await post_form(client, f"/leads/{lead}/release", {"view": "panel"}, headers=HTMX)
    assert refused.status_code == 404 and await owner_of(lead) == owner.id
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("csrftoken", "")})
    client.cookies.clear()
    admin = await make_user("admin")
    from tests.support import login as do_login

    await do_login(client, admin)
    answer = await post_form(client, f"/leads/{lead}/release", {"view": "panel", "reason": "长期未联系"}, headers=HTMX)
    assert answer.status_code == 200 and await owner_of(lead) is None
    assert "长期未联系" in answer.text


async def test_only_admins_see_and_change_pool_settings(client, make_user, login):
    await login(client, await make_user("supervisor"))
    assert (await client.get("/admin/lead-pool")).status_code == 403
    saved = await post_form(client, "/admin/lead-pool/settings", {"limit_advisor": "5"})
    rule = await post_form(client, "/admin/lead-pool/rules", {"match": "any"})
    assert [saved.status_code, rule.status_code] == [403, 403]
    assert await LeadDistributionRule.count() == 0
    assert (await pool_settings.load()).claim_limits["advisor"] == 200


async def test_admin_saves_limits_and_rules_and_bad_input_names_the_field(client, make_user, login):
    admin = await make_user("admin")
    advisor = await make_user("advisor", display_name="区域顾问")
    await login(client, admin)
    page = await client.get("/admin/lead-pool")
    assert page.status_code == 200 and "区域顾问" in page.text
    bad = await post_form(client, "/admin/lead-pool/settings", {"limit_advisor": "很多", "no_follow_up_days": "7"})
    assert bad.status_code == 422 and 'id="f-limit_advisor-error"' in bad.text
    good = await post_form(
        client,
        "/admin/lead-pool/settings",
        {
            "limit_advisor": "50",
            "limit_supervisor": "",
            "limit_customer_service": "0",
            "no_follow_up_days": "15",
            "not_converted_days": "60",
        },
        headers=HTMX,
    )
    assert good.status_code < 300 and good.headers["hx-redirect"] == "/admin/lead-pool?done=saved"
    settings = await pool_settings.load()
    assert settings.claim_limits == {"advisor": 50, "supervisor": None, "customer_service": 0}
    assert (settings.no_follow_up_days, settings.not_converted_days) == (15, 60)
    assert await LeadPoolSetting.count() == 1
    assert await AuditEntry.count().where(AuditEntry.entity_type == "lead_pool_setting") == 1

    no_city = await post_form(client, "/admin/lead-pool/rules", {"match": "region"})
    assert no_city.status_code == 422 and 'id="f-city-error"' in no_city.text
    await post_form(
        client,
        "/admin/lead-pool/rules",
        {"match": "region", "city": "北京", "district": "海淀", "target_user": str(advisor.id)},
    )
    await post_form(client, "/admin/lead-pool/rules", {"match": "any", "method": "round_robin"})
    rules = await pool_settings.rules()
    assert [(r["match"], r["target_user"]) for r in rules] == [("region", advisor.id), ("any", None)]
    await post_form(client, f"/admin/lead-pool/rules/{rules[1]['id']}/move", {"direction": "up"})
    assert [r["match"] for r in await pool_settings.rules()] == ["any", "region"]
    await post_form(client, f"/admin/lead-pool/rules/{rules[1]['id']}/delete", {})
    assert [r["match"] for r in await pool_settings.rules()] == ["region"]
    listing = await client.get("/admin/lead-pool")
    assert "北京 海淀" in listing.text and "区域顾问" in listing.text


async def test_pool_list_and_timeline_queries_do_not_grow_with_rows(client, make_user, login, count_queries):
    from app.leads.follow_ups import services as follow_ups

    advisor = await make_user("advisor")
    await login(client, advisor)
    lead = await make_lead(advisor.id)
    await pool_settings.load()  # the settings row exists (its first load creates it)
    pool_counts, timeline_counts = [], []
    for total in (3, 30):
        await Lead.delete().where(Lead.owner.is_null())
        for _ in range(total):
            await make_lead(None)
        for n in range(total):
            await follow_ups.add_follow_up(advisor, {"kind": "phone", "note": f"第{n}次"}, lead_id=lead)
        with count_queries() as statements:
            answer = await client.get("/leads/pool", params={"limit": 50})
        assert answer.status_code == 200 and answer.text.count('class="pool-action"') == total
        pool_counts.append(len(statements))
        with count_queries() as statements:
            panel = await client.get(f"/leads/{lead}/timeline", headers=HTMX)
        assert panel.text.count("fu-item") >= total
        timeline_counts.append(len(statements))
    assert pool_counts[0] == pool_counts[1] and pool_counts[0] <= 10, pool_counts
    assert timeline_counts[0] == timeline_counts[1] and timeline_counts[0] <= 12, timeline_counts
