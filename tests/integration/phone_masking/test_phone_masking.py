"""Phone masking (PIPL): 138****8000 for people without the right, full for admins, supervisors and the
owner; the "显示" reveal fetches the number by POST, writes exactly one audit row and is refused (403)
to someone with no reason to see the lead."""

from __future__ import annotations

from app.leads import services
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead
from tests.support import login, post_form, token_for

FULL, MASKED = "13800138000", "138****8000"
LEAD = {"student_name": "张伟", "phone": FULL, "phones": "13900139000", "guardian_name": "张妈妈"}


async def _pool_lead(admin) -> dict:
    return await services.create_lead(admin, {**LEAD, "owner": None})


async def _reveals() -> list[dict]:
    return (
        await AuditEntry.select(
            AuditEntry.actor,
            AuditEntry.entity_type,
            AuditEntry.entity_id,
            AuditEntry.action,
            AuditEntry.ip,
            AuditEntry.changes,
        )
        .where(AuditEntry.action == "reveal")
        .output(load_json=True)
    )


async def test_masked_in_pages_and_api_for_customer_service_full_for_admin_supervisor_and_owner(client, make_user):
    admin, supervisor = await make_user("admin"), await make_user("supervisor")
    service_desk, owner = await make_user("customer_service"), await make_user("advisor")
    pool_lead = await _pool_lead(admin)
    owned = await services.create_lead(owner, {**LEAD, "student_name": "李雷", "phone": "13700137000"})

    await login(client, service_desk)
    listing = await client.get("/leads")
    assert MASKED in listing.text and FULL not in listing.text and "显示" in listing.text
    detail = await client.get(f"/leads/{pool_lead['id']}")
    assert MASKED in detail.text and "139****9000" in detail.text and FULL not in detail.text
    assert "13900139000" not in detail.text
    assert f'hx-post="/leads/{pool_lead["id"]}/phone/reveal"' in detail.text
    pool = await client.get("/leads/pool")
    assert MASKED in pool.text and FULL not in pool.text
    timeline = await client.get(f"/leads/{pool_lead['id']}/timeline", headers={"HX-Request": "true"})
    assert timeline.status_code == 200 and MASKED in timeline.text and FULL not in timeline.text
    refused_claim = await post_form(
        client, f"/leads/{pool_lead['id']}/claim", {"view": "row"}, headers={"HX-Request": "true"}
    )  # customer service may not claim
    assert refused_claim.status_code == 409 and MASKED in refused_claim.text and FULL not in refused_claim.text
    form = await client.get(f"/leads/{pool_lead['id']}/edit")
    assert MASKED in form.text and 'name="phone"' not in form.text
    headers = await token_for(service_desk)
    api = (await client.get(f"/api/v1/leads/{pool_lead['id']}", headers=headers)).json()
    assert api["phone"] == MASKED and api["phones"] == ["139****9000"] and api["phone_masked"] is True
    items = (await client.get("/api/v1/leads", headers=headers)).json()["items"]
    assert [i["phone"] for i in items] == [MASKED]  # the advisor's own lead is not visible to them
    history = (await client.get(f"/api/v1/leads/{pool_lead['id']}/history", headers=headers)).json()["items"]
    assert FULL not in str(history) and MASKED in str(history)
    assert (await client.get("/api/v1/lead-pool", headers=headers)).json()["items"][0]["phone"] == MASKED

    for user, lead in ((admin, pool_lead), (supervisor, pool_lead), (owner, owned)):
        client.cookies.clear()
        await login(client, user)
        page = await client.get(f"/leads/{lead['id']}")
        assert lead["phone"] in page.text and "phone/reveal" not in page.text, user.role
        api = (await client.get(f"/api/v1/leads/{lead['id']}", headers=await token_for(user))).json()
        assert api["phone"] == lead["phone"] and api["phone_masked"] is False
    assert FULL in (await client.get("/api/v1/lead-pool", headers=await token_for(admin))).json()["items"][0]["phone"]
    assert await AuditEntry.count().where(AuditEntry.action == "reveal") == 0  # seeing in full is not a reveal


async def test_reveal_shows_the_number_and_writes_exactly_one_audit_row(client, make_user):
    admin, service_desk = await make_user("admin"), await make_user("customer_service")
    lead = await _pool_lead(admin)
    await login(client, service_desk)
    shown = await post_form(
        client, f"/leads/{lead['id']}/phone/reveal", {"others": "1"}, headers={"HX-Request": "true"}
    )
    assert shown.status_code == 200 and FULL in shown.text and "13900139000" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert await _reveals() == [
        {
            "actor": service_desk.id,
            "entity_type": "lead_phone",
            "entity_id": lead["id"],
            "action": "reveal",
            "ip": "127.0.0.1",
            "changes": {},
        }
    ]
    api = await client.post(f"/api/v1/leads/{lead['id']}/phone/reveal", headers=await token_for(service_desk))
    assert api.status_code == 200 and api.json() == {"id": lead["id"], "phone": FULL, "phones": ["13900139000"]}
    assert len(await _reveals()) == 2
    # Reveals stay off the lead's own timeline and history.
    assert "reveal" not in str(
        (await client.get(f"/api/v1/leads/{lead['id']}/history", headers=await token_for(service_desk))).json()
    )


async def test_reveal_is_refused_without_a_reason_to_see_the_lead(client, make_user):
    owner, other, finance = await make_user("advisor"), await make_user("advisor"), await make_user("finance")
    lead = await services.create_lead(owner, LEAD)
    for user in (other, finance):
        client.cookies.clear()
        await login(client, user)
        refused = await post_form(client, f"/leads/{lead['id']}/phone/reveal", {})
        assert refused.status_code == 403 and FULL not in refused.text
        api = await client.post(f"/api/v1/leads/{lead['id']}/phone/reveal", headers=await token_for(user))
        assert api.status_code == 403 and FULL not in api.text
    await Lead.update({Lead.owner: None}).where(Lead.id == lead["id"])
    await services.delete_lead(owner, lead["id"])  # in the bin: nobody reveals it
    client.cookies.clear()
    await login(client, other)
    assert (await post_form(client, f"/leads/{lead['id']}/phone/reveal", {})).status_code == 403
    assert await _reveals() == []


async def test_a_masked_editor_keeps_the_numbers(client, make_user):
    admin, service_desk = await make_user("admin"), await make_user("customer_service")
    lead = await _pool_lead(admin)
    await login(client, service_desk)
    saved = await post_form(client, f"/leads/{lead['id']}", {"student_name": "张伟伟", "version": str(lead["version"])})
    assert saved.status_code in (302, 303)
    row = (
        await Lead.select(Lead.student_name, Lead.phone, Lead.phones)
        .where(Lead.id == lead["id"])
        .first()
        .output(load_json=True)
    )
    assert row == {"student_name": "张伟伟", "phone": FULL, "phones": ["13900139000"]}


async def test_admins_read_the_reveal_log(client, make_user):
    admin, service_desk = await make_user("admin"), await make_user("customer_service", display_name="客服小王")
    lead = await _pool_lead(admin)
    await login(client, service_desk)
    await post_form(client, f"/leads/{lead['id']}/phone/reveal", {})
    assert (await client.get("/admin/phone-reveals")).status_code == 403
    client.cookies.clear()
    await login(client, admin)
    everyone = await client.get("/admin/phone-reveals")
    assert f'<option value="{service_desk.id}" >客服小王</option>' in everyone.text
    log = await client.get(f"/admin/phone-reveals?actor={service_desk.id}")
    assert log.status_code == 200 and "客服小王" in log.text and f'href="/leads/{lead["id"]}"' in log.text
    assert "127.0.0.1" in log.text and "号码查看记录" in log.text
    assert "<td" not in (await client.get(f"/admin/phone-reveals?actor={admin.id}")).text  # no rows


async def test_duplicates_page_and_merge_wizard_mask_for_the_unprivileged(client, make_user):
    admin, service_desk = await make_user("admin"), await make_user("customer_service")
    await _pool_lead(admin)
    await services.create_lead(admin, {**LEAD, "student_name": "Zhang Wei", "owner": None})
    await login(client, service_desk)
    page = await client.get("/leads/duplicates")
    assert page.status_code == 200 and MASKED in page.text and FULL not in page.text
    client.cookies.clear()
    await login(client, admin)
    assert FULL in (await client.get("/leads/duplicates")).text
